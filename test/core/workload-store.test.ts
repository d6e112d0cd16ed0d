import { Redis } from 'ioredis';
import { Keys } from '../../src/core/keys';
import { RedisSubscriber } from '../../src/core/redis-subscriber';
import { WorkloadStore, type WorkloadEvent } from '../../src/core/workload-store';
import type { WorkloadRecord } from '../../src/core/workload';
import { deletePrefix, testRedisUrl, uniquePrefix } from '../utils/redis';

describe('WorkloadStore', () => {
  let redis: Redis;
  let prefix: string;
  let store: WorkloadStore;
  let keys: Keys;

  const record = (id: string, total: number): WorkloadRecord => ({
    id, type: 'compute', task: 'sumSquares', status: 'queued', total, completed: 0, failed: 0,
    chunks: 1, chunkSize: total, attempts: 3, priority: 50, createdAt: Date.now(),
  });

  beforeEach(() => {
    prefix = uniquePrefix('store');
    keys = new Keys(prefix);
    redis = new Redis(testRedisUrl());
    store = new WorkloadStore(redis, keys, 60);
  });
  afterEach(async () => {
    redis.disconnect();
    await deletePrefix(prefix);
  });

  it('counts each item once, however often it is recorded', async () => {
    await store.create(record('w1', 3));
    const first = await store.recordItems('w1', [{ index: 0, ok: true, value: 1 }, { index: 1, ok: true, value: 2 }]);
    expect(first).toEqual({ status: 'running', newlyCompleted: 2, newlyFailed: 0 });
    // A retried or stale chunk records the same items again, even with other values: nothing changes.
    const again = await store.recordItems('w1', [{ index: 0, ok: true, value: 99 }, { index: 1, ok: false, code: 'TASK_ERROR', message: 'x' }]);
    expect(again).toEqual({ status: 'running', newlyCompleted: 0, newlyFailed: 0 });
    const last = await store.recordItems('w1', [{ index: 2, ok: false, code: 'TASK_ERROR', message: 'boom' }]);
    expect(last.status).toBe('failed');
    const saved = (await store.get('w1'))!;
    expect(saved).toMatchObject({ completed: 2, failed: 1, status: 'failed' });
    expect(saved.finishedAt).toBeGreaterThanOrEqual(saved.startedAt!);
    const outcomes = await store.readOutcomes(saved);
    expect(outcomes.results).toEqual([1, 2, null]);
    expect(outcomes.errors).toEqual([{ index: 2, code: 'TASK_ERROR', message: 'boom' }]);
  });

  it('reads results as one JSON array text, page after page, the same as parsing each item', async () => {
    // 25,001 items: three pages of the results script (10,000 each), the last one a single item.
    const total = 25_001;
    await store.create(record('big', total));
    const values: Array<[number, unknown]> = [[0, { a: [1, 'x'] }], [9_999, 'last of page 1'], [10_000, 12.5], [20_000, null], [25_000, '9007199254740993']];
    await store.recordItems('big', values.map(([index, value]) => ({ index, ok: true, value })));
    await store.recordItems('big', [{ index: 3, ok: false, code: 'TASK_ERROR', message: 'no' }]);
    const read = (await store.getWithResultsJson('big'))!;
    const expected: unknown[] = new Array(total).fill(null);
    for (const [index, value] of values) expected[index] = value;
    expect(JSON.parse(read.resultsJson)).toEqual(expected);
    expect(JSON.parse(read.resultsJson)).toEqual((await store.readOutcomes(read.record)).results);
    expect(read.errors).toEqual([{ index: 3, code: 'TASK_ERROR', message: 'no' }]);
    await store.create(record('none', 0));
    expect((await store.getWithResultsJson('none'))!.resultsJson).toBe('[]');
    expect(await store.getWithResultsJson('missing')).toBeUndefined();
  });

  it('keeps a final status: late writes after completion or cancellation change nothing', async () => {
    await store.create(record('w2', 1));
    await store.recordItems('w2', [{ index: 0, ok: true, value: 'done' }]);
    expect(await store.cancel('w2')).toBe('completed');
    await store.create(record('w3', 2));
    expect(await store.cancel('w3')).toBe('cancelled-now');
    expect(await store.cancel('w3')).toBe('cancelled');
    expect(await store.recordItems('w3', [{ index: 0, ok: true, value: 1 }])).toEqual({ status: 'cancelled', newlyCompleted: 0, newlyFailed: 0 });
    expect((await store.get('w3'))!.completed).toBe(0);
    expect(await store.cancel('nope')).toBe('missing');
  });

  it('tells which items of a chunk are still unfinished', async () => {
    await store.create(record('w4', 5));
    await store.recordItems('w4', [{ index: 1, ok: true, value: 1 }, { index: 3, ok: false, code: 'TASK_ERROR', message: 'x' }]);
    expect(await store.unfinishedIndexes('w4', [0, 1, 2, 3, 4])).toEqual([0, 2, 4]);
  });

  it('publishes each batch of results and the final status', async () => {
    const subscriber = new RedisSubscriber(new Redis(testRedisUrl()));
    const events: WorkloadEvent[] = [];
    const stop = await subscriber.listen(keys.workload('w5').events, (message) => events.push(JSON.parse(message)));
    await store.create(record('w5', 2));
    await store.recordItems('w5', [{ index: 1, ok: true, value: '12345678901234567890' }]);
    await store.recordItems('w5', [{ index: 0, ok: true, value: { a: [1] } }]);
    await new Promise((resolve) => setTimeout(resolve, 100));
    stop();
    await subscriber.close();
    expect(events).toEqual([
      { type: 'items', status: 'running', completed: 1, failed: 0, total: 2, items: [{ index: 1, value: '12345678901234567890' }] },
      { type: 'items', status: 'completed', completed: 2, failed: 0, total: 2, items: [{ index: 0, value: { a: [1] } }] },
    ]);
  });

  it('lists newest first, filters by status, and forgets expired workloads', async () => {
    await store.create({ ...record('old', 1), createdAt: 1000 });
    await store.create({ ...record('new', 1), createdAt: 2000 });
    await store.create({ ...record('gone', 1), createdAt: 3000 });
    await redis.del(keys.workload('gone').meta);
    await store.recordItems('old', [{ index: 0, ok: true, value: 1 }]);
    expect((await store.list({ limit: 10 })).map((w) => w.id)).toEqual(['new', 'old']);
    expect((await store.list({ limit: 10, status: 'completed' })).map((w) => w.id)).toEqual(['old']);
    expect(await redis.zscore(keys.workloadIndex, 'gone')).toBeNull();
  });

  it('keeps a lost workload in the index until it could have expired: only expiry is forgotten', async () => {
    await store.create(record('lost', 1));
    await redis.del(keys.workload('lost').meta);
    expect(await store.list({ limit: 10 })).toEqual([]);
    expect(await store.indexedAt('lost')).toBeGreaterThan(Date.now() - 5000);
    expect(await store.exists('lost')).toBe(false);
    // The store's TTL is 60 s: a workload created 61 s ago may have expired.
    expect(store.mayHaveExpired(Date.now() - 59_000)).toBe(false);
    expect(store.mayHaveExpired(Date.now() - 61_000)).toBe(true);
    expect(await store.indexedAt('never')).toBeUndefined();
  });
});
