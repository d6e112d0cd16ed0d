import { Redis } from 'ioredis';
import { Keys } from '../../src/core/keys';
import { closeQueues, initialiseQueues, openQueues } from '../../src/core/queues';
import { deletePrefix, testRedisUrl, uniquePrefix } from '../utils/redis';

describe('initialiseQueues', () => {
  const prefix = uniquePrefix('queue-init');
  afterAll(async () => deletePrefix(prefix));

  it('runs a failed initialisation again (BullMQ keeps a failed one for good) until it succeeds', async () => {
    // A connection whose first connect fails, as when Redis goes away while a queue initialises.
    const redis = new Redis(testRedisUrl(), { lazyConnect: true, maxRetriesPerRequest: null });
    const connect = redis.connect.bind(redis);
    let failures = 0;
    redis.connect = () => (failures++ === 0 ? Promise.reject(new Error('connect ECONNREFUSED (injected)')) : connect());
    const queues = openQueues(redis, new Keys(prefix));
    for (const queue of Object.values(queues)) queue.on('error', () => undefined);
    try {
      await expect(queues.compute.waitUntilReady()).rejects.toThrow(/injected/);
      await expect(queues.compute.waitUntilReady()).rejects.toThrow(/injected/);
      const retries: number[] = [];
      await initialiseQueues(Object.values(queues), { signal: new AbortController().signal, onRetry: (_error, inMs) => retries.push(inMs), firstDelayMs: 20 });
      expect(retries).toEqual([20]);
      await queues.compute.add('probe', { workloadId: 'w', chunkIndex: 0 } as never);
      expect(await queues.compute.count()).toBe(1);
      // The meta hash BullMQ writes once initialised is there too.
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(await redis.hget(queues.compute.keys.meta, 'version')).toMatch(/^bullmq:/);
      expect(redis.listenerCount('error')).toBeLessThanOrEqual(Object.keys(queues).length + 1);
    } finally {
      await closeQueues(queues);
      redis.disconnect();
    }
  });

  it('gives up when the process stops', async () => {
    const redis = new Redis(testRedisUrl(), { lazyConnect: true, maxRetriesPerRequest: null });
    redis.connect = () => Promise.reject(new Error('connect ECONNREFUSED (injected)'));
    const queues = openQueues(redis, new Keys(prefix));
    for (const queue of Object.values(queues)) queue.on('error', () => undefined);
    const stopping = new AbortController();
    const initialised = initialiseQueues(Object.values(queues), { signal: stopping.signal, firstDelayMs: 20, onRetry: () => stopping.abort() });
    await expect(initialised).rejects.toThrow(/injected/);
    await closeQueues(queues);
    redis.disconnect();
  });
});
