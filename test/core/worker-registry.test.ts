import { Redis } from 'ioredis';
import { Keys } from '../../src/core/keys';
import pino from 'pino';
import { freePort } from '../../src/core/redis-server';
import { WorkerHeartbeat, WorkerRegistry, type WorkerHostInfo } from '../../src/core/worker-registry';
import { deletePrefix, testRedisUrl, uniquePrefix } from '../utils/redis';

const host = (id: string, pid = 100): Omit<WorkerHostInfo, 'lastSeenAt' | 'expiresAt'> => ({
  id,
  hostname: `${id}.local`,
  pid,
  queues: ['compute'],
  processes: 2,
  threads: 1,
  concurrency: { compute: 1, fetch: 4 },
  activeChunks: { compute: 0, fetch: 0 },
  startedAt: 1,
});

describe('WorkerRegistry', () => {
  const prefix = uniquePrefix('registry');
  const keys = new Keys(prefix);
  let redis: Redis;
  beforeAll(() => {
    redis = new Redis(testRedisUrl());
  });
  afterAll(async () => {
    redis.disconnect();
    await deletePrefix(prefix);
  });

  it('lists live hosts by id and drops one after 3 missed heartbeats, index included', async () => {
    const registry = new WorkerRegistry(redis, keys, 100);
    expect(registry.expiresAfterMs).toBe(300);
    await registry.beat(host('b'), 'instance-b');
    await registry.beat(host('a'), 'instance-a', 5_000);
    const listed = await registry.list();
    expect(listed.map((entry) => entry.id)).toEqual(['a', 'b']);
    expect(listed[0]).toEqual({ ...host('a'), lastSeenAt: 5_000, expiresAt: 5_300 });
    expect(listed[0]).not.toHaveProperty('instance');
    // b keeps beating, a stops.
    for (let i = 0; i < 5; i++) {
      await new Promise((resolve) => setTimeout(resolve, 90));
      await registry.beat(host('b'), 'instance-b');
    }
    expect((await registry.list()).map((entry) => entry.id)).toEqual(['b']);
    expect(await redis.smembers(keys.workerIndex)).toEqual(['b']);
  });

  it('tells when two processes share a WORKER_ID, and a clean stop removes only its own entry', async () => {
    const registry = new WorkerRegistry(redis, keys, 5_000);
    expect(await registry.beat(host('dup', 1), 'first')).toBeUndefined();
    expect(await registry.beat(host('dup', 1), 'first')).toBeUndefined();
    expect(await registry.beat(host('dup', 2), 'second')).toMatchObject({ id: 'dup', pid: 1 });
    await registry.remove('dup', 'first');
    expect((await registry.list()).find((entry) => entry.id === 'dup')).toMatchObject({ pid: 2 });
    await registry.remove('dup', 'second');
    expect((await registry.list()).find((entry) => entry.id === 'dup')).toBeUndefined();
  });

  it('a heartbeat neither blocks a host from starting nor from stopping while Redis is unreachable', async () => {
    // Nothing listens on this port; the connection retries for ever, as a worker's does.
    const down = new Redis(await freePort(), '127.0.0.1', { maxRetriesPerRequest: null, retryStrategy: () => 100 });
    down.on('error', () => undefined);
    const heartbeat = new WorkerHeartbeat({
      registry: new WorkerRegistry(down, keys, 300),
      logger: pino({ level: 'silent' }),
      describe: async () => host('offline'),
    });
    try {
      let started = Date.now();
      await heartbeat.start();
      expect(Date.now() - started).toBeLessThan(1_500);
      // Started, but not registered: no beat got through.
      expect(heartbeat.registered).toBe(false);
      started = Date.now();
      await heartbeat.stop();
      expect(Date.now() - started).toBeLessThan(3_500);
    } finally {
      down.disconnect();
    }
  });

  it('counts as registered only after a beat that succeeded, and again after a later one', async () => {
    let refusing = true;
    const registry = new WorkerRegistry(redis, keys, 100);
    const beat = registry.beat.bind(registry);
    registry.beat = (...args) => (refusing ? Promise.reject(new Error("READONLY You can't write against a read only replica.")) : beat(...args));
    const heartbeat = new WorkerHeartbeat({ registry, logger: pino({ level: 'silent' }), describe: async () => host('refused') });
    try {
      await heartbeat.start();
      expect(heartbeat.registered).toBe(false);
      refusing = false;
      await new Promise((resolve) => setTimeout(resolve, 250));
      expect(heartbeat.registered).toBe(true);
      // Beats refused long enough for the entry to expire: not registered any more.
      refusing = true;
      await new Promise((resolve) => setTimeout(resolve, 450));
      expect(heartbeat.registered).toBe(false);
    } finally {
      await heartbeat.stop();
    }
  });
});
