import { Redis } from 'ioredis';
import { Keys } from '../../src/core/keys';
import { RedisSubscriber } from '../../src/core/redis-subscriber';
import { WorkloadStore, parseWorkloadEvent, type WorkloadEvent } from '../../src/core/workload-store';
import { chunkAt, type ChunkPosition } from '../../src/core/results-packing';
import type { WorkloadRecord } from '../../src/core/workload';
import { deletePrefix, testRedisUrl, uniquePrefix } from '../utils/redis';

describe('WorkloadStore', () => {
  let redis: Redis;
  let prefix: string;
  let store: WorkloadStore;
  let keys: Keys;

  const record = (id: string, total: number): WorkloadRecord => ({
    id,
    type: 'compute',
    task: 'sumSquares',
    status: 'queued',
    total,
    completed: 0,
    failed: 0,
    chunks: 1,
    chunkSize: total,
    attempts: 3,
    priority: 50,
    createdAt: Date.now(),
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

  /** The whole workload as one chunk. */
  const whole = (total: number): ChunkPosition => ({ index: 0, start: 0, size: total });

  it('counts each item once, however often it is recorded', async () => {
    await store.create(record('w1', 3));
    const first = await store.recordChunk('w1', whole(3), [
      { index: 0, ok: true, value: 1 },
      { index: 1, ok: true, value: 2 },
    ]);
    expect(first).toEqual({ status: 'running', newlyCompleted: 2, newlyFailed: 0 });
    // A retried or stale chunk records the same items again, even with other values: nothing changes.
    const again = await store.recordChunk('w1', whole(3), [
      { index: 0, ok: true, value: 99 },
      { index: 1, ok: false, code: 'TASK_ERROR', message: 'x' },
    ]);
    expect(again).toEqual({ status: 'running', newlyCompleted: 0, newlyFailed: 0 });
    const last = await store.recordChunk('w1', whole(3), [
      { index: 1, ok: true, value: 7 },
      { index: 2, ok: false, code: 'TASK_ERROR', message: 'boom' },
    ]);
    expect(last).toEqual({ status: 'failed', newlyCompleted: 0, newlyFailed: 1 });
    const saved = (await store.get('w1'))!;
    expect(saved).toMatchObject({ completed: 2, failed: 1, status: 'failed' });
    expect(saved.finishedAt).toBeGreaterThanOrEqual(saved.startedAt!);
    const read = (await store.getWithResults('w1'))!;
    expect(JSON.parse(read.resultsJson)).toEqual([1, 2, null]);
    expect(read.errors).toEqual([{ index: 2, code: 'TASK_ERROR', message: 'boom' }]);
    // One field for the chunk, holding its three outcomes.
    expect(await redis.hlen(keys.workload('w1').results)).toBe(1);
  });

  it('never counts past total, whatever order chunks and their re-runs land in', async () => {
    const total = 10;
    await store.create({ ...record('w6', total), chunks: 4, chunkSize: 3 });
    const chunk = (index: number) => chunkAt(index, 3, total);
    const outcome = (index: number) => ({ index, ok: true as const, value: index * 10 });
    const items = (position: ChunkPosition) => Array.from({ length: position.size }, (_, offset) => outcome(position.start + offset));
    // Progress writes, a full re-run over them, a stale duplicate, then the rest.
    await store.recordChunk('w6', chunk(1), [outcome(4)]);
    await store.recordChunk('w6', chunk(1), items(chunk(1)));
    await store.recordChunk('w6', chunk(0), items(chunk(0)));
    await store.recordChunk('w6', chunk(0), items(chunk(0)));
    await store.recordChunk('w6', chunk(3), items(chunk(3)));
    expect((await store.get('w6'))!).toMatchObject({ status: 'running', completed: 7 });
    expect(await store.recordChunk('w6', chunk(2), items(chunk(2)))).toEqual({ status: 'completed', newlyCompleted: 3, newlyFailed: 0 });
    expect(await store.recordChunk('w6', chunk(2), items(chunk(2)))).toEqual({ status: 'completed', newlyCompleted: 0, newlyFailed: 0 });
    expect((await store.get('w6'))!).toMatchObject({ status: 'completed', completed: 10, failed: 0 });
    expect(JSON.parse((await store.getWithResults('w6'))!.resultsJson)).toEqual(Array.from({ length: total }, (_, index) => index * 10));
  });

  it('reads results as one JSON array text, whole or by ranges, the same as the values recorded', async () => {
    // 25,001 items in chunks of 1,000: 26 chunks, the last a single item; some chunks never written.
    const total = 25_001;
    const chunkSize = 1_000;
    await store.create({ ...record('big', total), chunks: 26, chunkSize });
    const expected: unknown[] = new Array(total).fill(null);
    for (let chunkIndex = 0; chunkIndex < 26; chunkIndex += 2) {
      const position = chunkAt(chunkIndex, chunkSize, total);
      const outcomes = Array.from({ length: position.size }, (_, offset) => {
        const index = position.start + offset;
        const value = index % 7 === 0 ? { a: [index, 'x\ny'] } : index % 5 === 0 ? '9007199254740993' : index;
        expected[index] = value;
        return { index, ok: true as const, value };
      });
      await store.recordChunk('big', position, outcomes);
    }
    await store.recordChunk('big', chunkAt(1, chunkSize, total), [{ index: 1_003, ok: false, code: 'TASK_ERROR', message: 'no' }]);
    const read = (await store.getWithResults('big'))!;
    expect(JSON.parse(read.resultsJson)).toEqual(expected);
    expect(read.errors).toEqual([{ index: 1_003, code: 'TASK_ERROR', message: 'no' }]);
    for (const [offset, limit] of [
      [0, 10],
      [995, 10],
      [1_000, 1_000],
      [24_990, 100],
      [25_001, 10],
      [3, 0],
    ]) {
      const page = (await store.getWithResults('big', { offset, limit }))!;
      expect(JSON.parse(page.resultsJson)).toEqual(expected.slice(offset, offset + limit));
      expect(page.errors).toEqual(offset <= 1_003 && 1_003 < offset + limit ? [{ index: 1_003, code: 'TASK_ERROR', message: 'no' }] : []);
    }
    await store.create(record('none', 0));
    expect((await store.getWithResults('none'))!.resultsJson).toBe('[]');
    expect(await store.getWithResults('missing')).toBeUndefined();
  });

  it('stores a no-op result in a few bytes of Redis memory', async () => {
    const total = 100_000;
    await store.create({ ...record('small', total), chunks: 10, chunkSize: 10_000 });
    for (let chunkIndex = 0; chunkIndex < 10; chunkIndex++) {
      const position = chunkAt(chunkIndex, 10_000, total);
      await store.recordChunk(
        'small',
        position,
        Array.from({ length: position.size }, (_, offset) => ({ index: position.start + offset, ok: true as const, value: 0 })),
      );
    }
    const bytes = Number(await redis.memory('USAGE', keys.workload('small').results, 'SAMPLES', 0));
    expect(bytes / total).toBeLessThanOrEqual(8);
  });

  it('keeps a final status: late writes after completion or cancellation change nothing', async () => {
    await store.create(record('w2', 1));
    await store.recordChunk('w2', whole(1), [{ index: 0, ok: true, value: 'done' }]);
    expect(await store.cancel('w2')).toBe('completed');
    await store.create(record('w3', 2));
    expect(await store.cancel('w3')).toBe('cancelled-now');
    expect(await store.cancel('w3')).toBe('cancelled');
    expect(await store.recordChunk('w3', whole(2), [{ index: 0, ok: true, value: 1 }])).toEqual({ status: 'cancelled', newlyCompleted: 0, newlyFailed: 0 });
    expect((await store.get('w3'))!.completed).toBe(0);
    expect(await store.cancel('nope')).toBe('missing');
    expect(await store.recordChunk('nope', whole(1), [{ index: 0, ok: true, value: 1 }])).toEqual({ status: 'missing', newlyCompleted: 0, newlyFailed: 0 });
  });

  it('tells which items of a chunk are still unfinished, and which chunks have such items', async () => {
    await store.create(record('w4', 5));
    expect(await store.unfinishedItems('w4', whole(5))).toEqual([0, 1, 2, 3, 4]);
    await store.recordChunk('w4', whole(5), [
      { index: 1, ok: true, value: 1 },
      { index: 3, ok: false, code: 'TASK_ERROR', message: 'x' },
    ]);
    expect(await store.unfinishedItems('w4', whole(5))).toEqual([0, 2, 4]);
    expect(await store.beginChunk('w4', whole(5))).toEqual({ status: 'running', unfinished: [0, 2, 4] });
    const workload = { ...record('w7', 7), chunks: 4, chunkSize: 2 };
    await store.create(workload);
    await store.recordChunk('w7', chunkAt(0, 2, 7), [
      { index: 0, ok: true, value: 0 },
      { index: 1, ok: true, value: 1 },
    ]);
    await store.recordChunk('w7', chunkAt(1, 2, 7), [{ index: 3, ok: true, value: 3 }]);
    await store.recordChunk('w7', chunkAt(3, 2, 7), [{ index: 6, ok: true, value: 6 }]);
    expect(await store.chunksMissingOutcomes(workload, 4, 10)).toEqual([1, 2]);
    expect(await store.chunksMissingOutcomes(workload, 4, 1)).toEqual([1]);
  });

  it('publishes each write of results and the final status', async () => {
    const subscriber = new RedisSubscriber(new Redis(testRedisUrl()));
    const events: WorkloadEvent[] = [];
    const finished: unknown[] = [];
    const stop = await subscriber.listen(keys.workload('w5').events, (message) => events.push(parseWorkloadEvent(message)));
    const stopFinished = await subscriber.listen(keys.finishedChannel, (message) => finished.push(JSON.parse(message)));
    await store.create(record('w5', 2));
    await store.recordChunk('w5', whole(2), [{ index: 1, ok: true, value: '12345678901234567890' }]);
    await store.recordChunk('w5', whole(2), [
      { index: 0, ok: false, code: 'TASK_ERROR', message: 'a\nb' },
      { index: 1, ok: true, value: 'again' },
    ]);
    await new Promise((resolve) => setTimeout(resolve, 100));
    stop();
    stopFinished();
    await subscriber.close();
    expect(events).toEqual([
      { type: 'items', status: 'running', completed: 1, failed: 0, total: 2, items: [{ index: 1, json: '"12345678901234567890"' }] },
      { type: 'items', status: 'failed', completed: 1, failed: 1, total: 2, items: [{ index: 0, error: { code: 'TASK_ERROR', message: 'a\nb' } }] },
    ]);
    expect(finished).toEqual([{ id: 'w5', status: 'failed' }]);
  });

  it('keeps every key of a workload in one cluster slot', () => {
    const workload = keys.workload('any-id');
    // Redis Cluster hashes only the first {…} of a key: every key of the recording script has the same one.
    const hashTags = [workload.meta, workload.results, workload.chunks, workload.requestHeaders].map((key) => /\{([^}]*)\}/.exec(key)?.[1]);
    expect(hashTags).toEqual(['any-id', 'any-id', 'any-id', 'any-id']);
  });

  it('lists newest first, filters by status, and forgets expired workloads', async () => {
    await store.create({ ...record('old', 1), createdAt: 1000 });
    await store.create({ ...record('new', 1), createdAt: 2000 });
    await store.create({ ...record('gone', 1), createdAt: 3000 });
    await redis.del(keys.workload('gone').meta);
    await store.recordChunk('old', whole(1), [{ index: 0, ok: true, value: 1 }]);
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
