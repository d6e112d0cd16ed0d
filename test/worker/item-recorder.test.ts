/**
 * The shared group-commit recorder against a real Redis: items of several chunks go out together, a hurry
 * writes at once (every batch of it, not only the first), and a failed write fails only its own items.
 * The linger's timer is faked, so "at once" means without it firing.
 */
import { Redis } from 'ioredis';
import { Keys } from '../../src/core/keys';
import { WorkloadStore } from '../../src/core/workload-store';
import type { WorkloadRecord } from '../../src/core/workload';
import { ItemRecorder } from '../../src/worker/item-recorder';
import { deletePrefix, testRedisUrl, uniquePrefix } from '../utils/redis';

describe('ItemRecorder', () => {
  const prefix = uniquePrefix('recorder');
  const redis = new Redis(testRedisUrl());
  const store = new WorkloadStore(redis, new Keys(prefix), 60);
  const record = (id: string, total: number): WorkloadRecord => ({
    id, type: 'compute', task: 'sumSquares', status: 'queued', total, completed: 0, failed: 0,
    chunks: 1, chunkSize: total, attempts: 1, priority: 50, createdAt: Date.now(),
  });
  const writes: number[] = [];
  const recordItems = store.recordItems.bind(store);
  store.recordItems = async (id, outcomes, now) => {
    writes.push(outcomes.length);
    return recordItems(id, outcomes, now);
  };

  beforeAll(() => redis.ping());
  beforeEach(() => {
    writes.length = 0;
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask', 'performance', 'Date', 'hrtime'] });
  });
  afterEach(() => jest.useRealTimers());
  afterAll(async () => {
    redis.disconnect();
    await deletePrefix(prefix);
  });

  it('writes a hurried chunk of 1,200 items at once, in batches of 500, without waiting for the linger', async () => {
    await store.create(record('w1', 1200));
    const recorder = new ItemRecorder(store, 'w1');
    const written = new Set(Array.from({ length: 1200 }, (_, index) => recorder.add({ index, ok: true, value: index })));
    recorder.hurry();
    await Promise.all(written);
    expect(writes).toEqual([500, 500, 200]);
    expect((await store.get('w1'))!).toMatchObject({ status: 'completed', completed: 1200 });
  }, 10_000);

  it('lets items of several chunks gather for one write while it lingers', async () => {
    await store.create(record('w2', 30));
    const recorder = new ItemRecorder(store, 'w2');
    const written = Array.from({ length: 30 }, (_, index) => recorder.add({ index, ok: true, value: index }));
    await new Promise((resolve) => setImmediate(resolve));
    expect(writes).toEqual([]);
    jest.advanceTimersByTime(20);
    await Promise.all(written);
    expect(writes).toEqual([30]);
  });

  it('fails the items of a failed write, and writes later items afresh', async () => {
    await store.create(record('w3', 2));
    const recorder = new ItemRecorder(store, 'w3');
    const original = store.recordItems;
    store.recordItems = async () => {
      throw new Error('Redis away');
    };
    const first = recorder.add({ index: 0, ok: true, value: 0 });
    recorder.hurry();
    await expect(first).rejects.toThrow('Redis away');
    store.recordItems = original;
    const second = recorder.add({ index: 1, ok: true, value: 1 });
    recorder.hurry();
    await expect(second).resolves.toBeUndefined();
    expect((await store.get('w3'))!.completed).toBe(1);
  });
});
