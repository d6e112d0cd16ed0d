/**
 * Redis connections, made one way for every role. Each purpose gets the settings that fit it:
 * - `producer`: fail fast. A request during an outage gets a 503 at once rather than hanging, and
 *   nothing is half-written because commands are never queued for later.
 * - `worker`: ride out outages. BullMQ's blocking commands need `maxRetriesPerRequest: null`, and a
 *   worker should resume by itself when Redis comes back, without a restart.
 * - `subscriber`: pub/sub only; re-subscribes by itself after a reconnect.
 */
import { Redis, type RedisOptions } from 'ioredis';

export type RedisPurpose = 'producer' | 'worker' | 'subscriber';

const PURPOSE_OPTIONS: Record<RedisPurpose, RedisOptions> = {
  producer: { enableOfflineQueue: false, maxRetriesPerRequest: 1 },
  worker: { maxRetriesPerRequest: null },
  subscriber: { maxRetriesPerRequest: null },
};

/** Reconnect quickly at first, then every 2 s at most, for ever. */
const retryStrategy = (attempt: number): number => Math.min(attempt * 100, 2000);

export function createRedis(url: string, purpose: RedisPurpose, name = `chunkmill-${purpose}`): Redis {
  return new Redis(url, { connectionName: name, retryStrategy, ...PURPOSE_OPTIONS[purpose] });
}

/** Closes a connection whether or not it is up; safe to call twice. */
export async function closeRedis(redis: Redis): Promise<void> {
  if (redis.status === 'end') return;
  try {
    await redis.quit();
  } catch {
    redis.disconnect();
  }
}

/** Resolves when every connection is ready, or after `timeoutMs` (whatever is not up by then stays down). */
export async function waitUntilReady(connections: Redis[], timeoutMs: number): Promise<boolean> {
  const ready = connections.map((redis) =>
    redis.status === 'ready' ? Promise.resolve() : new Promise<void>((resolve) => redis.once('ready', () => resolve())),
  );
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  const answer = await Promise.race([Promise.all(ready).then(() => true), timeout]);
  clearTimeout(timer);
  return answer;
}

/** Unlinks every key under `prefix:` (SCAN, not KEYS, so a large Redis is not blocked). */
export async function unlinkKeysWithPrefix(redis: Redis, prefix: string): Promise<number> {
  let cursor = '0';
  let unlinked = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) unlinked += await redis.unlink(...keys);
  } while (cursor !== '0');
  return unlinked;
}
