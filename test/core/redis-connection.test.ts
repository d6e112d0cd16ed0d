/**
 * Closing connections must not wait for a Redis that is not there: a worker's connections queue commands
 * while Redis is away and retry them for ever, so a plain QUIT would never be answered.
 */
import { once } from 'node:events';
import { closeRedis, createRedis, withRedisDeadline, type RedisClient } from '../../src/core/redis-connection';
import { freePort } from '../../src/core/redis-server';
import { testRedisUrl } from '../utils/redis';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Reconnection attempts scheduled during `ms` (none once a connection is dropped for good). */
async function reconnectsDuring(redis: RedisClient, ms: number): Promise<number> {
  let count = 0;
  const counted = (): void => void count++;
  redis.on('reconnecting', counted);
  await sleep(ms);
  redis.off('reconnecting', counted);
  return count;
}

async function unreachableWorkerConnection() {
  // A free port: nothing listens there, so the connection keeps trying to reconnect.
  const redis = createRedis(`redis://127.0.0.1:${await freePort()}`, 'worker');
  redis.on('error', () => undefined);
  return redis;
}

describe('closeRedis', () => {
  it('drops a connection that is not connected at once, instead of queueing a QUIT for ever', async () => {
    const redis = await unreachableWorkerConnection();
    const pending = redis.get('anything');
    pending.catch(() => undefined);
    const started = Date.now();
    await closeRedis(redis);
    expect(Date.now() - started).toBeLessThan(500);
    await expect(pending).rejects.toThrow();
    expect(await reconnectsDuring(redis, 700)).toBe(0);
  });

  it('QUITs a connected one after the commands sent before it are answered; a second close is a no-op', async () => {
    const redis = createRedis(testRedisUrl(), 'worker');
    await redis.ping();
    const answer = redis.echo('sent before the close');
    const ended = once(redis, 'end');
    await closeRedis(redis);
    await expect(answer).resolves.toBe('sent before the close');
    await ended;
    await closeRedis(redis);
  });
});

describe('withRedisDeadline', () => {
  it('answers true for steps that finish in time, and leaves the connections alone', async () => {
    const redis = createRedis(testRedisUrl(), 'worker');
    try {
      expect(await withRedisDeadline([redis], 2_000, async () => void (await redis.ping()))).toBe(true);
      expect(redis.status).toBe('ready');
    } finally {
      await closeRedis(redis);
    }
  });

  it('stops waiting for steps stuck on an unreachable Redis at the deadline, and drops the connections', async () => {
    const redis = await unreachableWorkerConnection();
    const started = Date.now();
    const finished = await withRedisDeadline([redis], 300, async () => void (await redis.get('never answered')));
    expect(finished).toBe(false);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(Date.now() - started).toBeLessThan(1_500);
    expect(await reconnectsDuring(redis, 700)).toBe(0);
  });
});
