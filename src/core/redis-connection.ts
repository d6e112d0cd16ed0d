/**
 * Redis connections, made one way for every role. Each purpose gets the settings that fit it:
 * - `producer`: fail fast. A request during an outage gets a 503 at once rather than hanging, and
 *   nothing is half-written because commands are never queued for later.
 * - `worker`: ride out outages. BullMQ's blocking commands need `maxRetriesPerRequest: null`, and a
 *   worker should resume by itself when Redis comes back, without a restart.
 * - `subscriber`: pub/sub only; re-subscribes by itself after a reconnect.
 * A `redis+cluster://` URL (see redis-cluster-url.ts) gives an ioredis Cluster with the same settings
 * on each node's connection; `enableOfflineQueue` is the cluster's own option there.
 */
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import { isClusterUrl, parseClusterUrl } from './redis-cluster-url';
import { timeLimit } from './time-limit';

/**
 * A connection to one Redis or to a Redis Cluster: the code above this file does not care which,
 * because every multi-key command, MULTI, pipeline and script stays within one hash slot.
 */
export type RedisClient = Redis | Cluster;

/**
 * Runs a pipeline or MULTI and answers its replies, throwing the first command's error as a single
 * command would (e.g. Redis unreachable), rather than leaving a TypeError to happen further down.
 */
export async function execOrThrow<Reply = unknown>(batch: { exec(): Promise<Array<[Error | null, unknown]> | null> }): Promise<Reply[]> {
  const replies = await batch.exec();
  if (!replies) throw new Error('Redis pipeline or transaction was aborted');
  for (const [error] of replies) if (error) throw error;
  return replies.map(([, reply]) => reply as Reply);
}

export type RedisPurpose = 'producer' | 'worker' | 'subscriber';

const PURPOSE_OPTIONS: Record<RedisPurpose, RedisOptions> = {
  producer: { enableOfflineQueue: false, maxRetriesPerRequest: 1 },
  worker: { maxRetriesPerRequest: null },
  subscriber: { maxRetriesPerRequest: null },
};

/** Reconnect quickly at first, then every 2 s at most, for ever. */
const retryStrategy = (attempt: number): number => Math.min(attempt * 100, 2000);

export function createRedis(url: string, purpose: RedisPurpose, name = `chunkmill-${purpose}`): RedisClient {
  if (!isClusterUrl(url)) return new Redis(url, { connectionName: name, retryStrategy, ...PURPOSE_OPTIONS[purpose] });
  const { nodes, redisOptions } = parseClusterUrl(url);
  const { enableOfflineQueue, ...perNode } = PURPOSE_OPTIONS[purpose];
  const options: ClusterOptions = {
    redisOptions: { ...redisOptions, ...perNode, connectionName: name },
    clusterRetryStrategy: retryStrategy,
    ...(enableOfflineQueue === undefined ? {} : { enableOfflineQueue }),
  };
  return new Cluster(nodes, options);
}

/** The connections to scan: every master of a cluster, or the one Redis. */
export function scanTargets(redis: RedisClient): Redis[] {
  return redis instanceof Cluster ? redis.nodes('master') : [redis];
}

/** How long a closing connection waits for Redis to answer its QUIT before it drops the socket. */
const QUIT_WAIT_MS = 2_000;

/**
 * Closes a connection. Connected: QUIT, so that Redis answers what was sent before it (for at most
 * QUIT_WAIT_MS: a frozen Redis does not hold up a shutdown). Not connected (Redis away): dropped at
 * once, since a QUIT would wait in the offline queue for a Redis that may never come back. Safe to
 * call twice.
 */
export async function closeRedis(redis: RedisClient): Promise<void> {
  if (redis.status === 'end') return;
  if (redis.status !== 'ready') {
    redis.disconnect();
    return;
  }
  const answered = await timeLimit(redis.quit().then(() => true, () => false), QUIT_WAIT_MS, false);
  if (!answered) redis.disconnect();
}

/**
 * Runs `steps` (a role's shutdown) for at most `ms`; past it, `connections` are dropped and the steps are
 * no longer waited for. A worker's connections keep commands queued while Redis is away and retry them
 * for ever (and BullMQ's close waits for its fetch loop's command), so a Redis that is away or frozen
 * would otherwise hold the process up until a SIGKILL. Answers whether the steps finished in time.
 */
export async function withRedisDeadline(connections: RedisClient[], ms: number, steps: () => Promise<void>): Promise<boolean> {
  const running = steps();
  // Once given up on, a step that fails later is nobody's business any more.
  running.catch(() => undefined);
  const finished = await timeLimit(running.then(() => true), ms, false);
  if (!finished) for (const redis of connections) redis.disconnect();
  return finished;
}

/** Resolves when every connection is ready, or after `timeoutMs` (whatever is not up by then stays down). */
export async function waitUntilReady(connections: RedisClient[], timeoutMs: number): Promise<boolean> {
  const ready = connections.map((redis) =>
    redis.status === 'ready' ? Promise.resolve() : new Promise<void>((resolve) => redis.once('ready', () => resolve())),
  );
  return timeLimit(Promise.all(ready).then(() => true), timeoutMs, false);
}

/** Every key matching `pattern` (SCAN, not KEYS, so a large Redis is not blocked), on every master. */
export async function scanKeys(redis: RedisClient, pattern: string): Promise<string[]> {
  const found: string[] = [];
  for (const node of scanTargets(redis)) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      found.push(...keys);
    } while (cursor !== '0');
  }
  return found;
}

/**
 * Unlinks every key under `prefix:`. Keys of different slots cannot go in one UNLINK on a cluster,
 * so on a cluster each key is unlinked alone (the client pipelines them per node).
 */
export async function unlinkKeysWithPrefix(redis: RedisClient, prefix: string): Promise<number> {
  const keys = await scanKeys(redis, `${prefix}:*`);
  if (!(redis instanceof Cluster)) {
    let unlinked = 0;
    for (let i = 0; i < keys.length; i += 1000) unlinked += await redis.unlink(...keys.slice(i, i + 1000));
    return unlinked;
  }
  const counts = await Promise.all(keys.map((key) => redis.unlink(key)));
  return counts.reduce((sum, count) => sum + count, 0);
}
