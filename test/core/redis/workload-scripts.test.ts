/**
 * The workload scripts called directly against a real Redis: every status transition they make or
 * refuse, the recording's merge of a chunk's slots (first outcome wins, counters never past total), what
 * it publishes, and that each call's keys share one cluster slot.
 */
import { Redis } from 'ioredis';
import { Keys } from '../../../src/core/keys';
import { ERROR_MARK, SLOT_SEPARATOR } from '../../../src/core/redis/protocol-constants';
import { cancelScript, chunksMissingOutcomesScript, markRunningScript, readResultsScript, recordChunkScript } from '../../../src/core/redis/workload-scripts';
import { WORKLOAD_STATUSES } from '../../../src/core/workload';
import { deletePrefix, testRedisUrl, uniquePrefix } from '../../utils/redis';

const calculateSlot = require('cluster-key-slot') as (key: string) => number;

describe('workload scripts', () => {
  const prefix = uniquePrefix('workload-scripts');
  const keys = new Keys(prefix);
  let redis: Redis;
  let subscriber: Redis;

  beforeAll(() => {
    redis = new Redis(testRedisUrl());
    subscriber = new Redis(testRedisUrl());
  });
  afterAll(async () => {
    redis.disconnect();
    subscriber.disconnect();
    await deletePrefix(prefix);
  });

  const workload = async (id: string, status: string, total = 4): Promise<ReturnType<Keys['workload']>> => {
    const wl = keys.workload(id);
    await redis.hset(wl.meta, { id, status, total, completed: 0, failed: 0 });
    return wl;
  };
  const record = (id: string, wl: ReturnType<Keys['workload']>, packed: string, okCount: number, errorCount: number, chunkIndex = 0, chunkStart = 0) =>
    recordChunkScript.run(
      redis,
      { meta: wl.meta, results: wl.results, chunks: wl.chunks, requestHeaders: wl.requestHeaders },
      {
        now: 1000,
        ttlSeconds: 60,
        eventsChannel: wl.events,
        finishedChannel: keys.finishedChannel,
        workloadId: id,
        chunkIndex,
        chunkStart,
        packed,
        okCount,
        errorCount,
      },
    );

  it('moves only a queued workload to running, and answers any other status as it is', async () => {
    for (const status of WORKLOAD_STATUSES) {
      const wl = await workload(`mark-${status}`, status);
      const expected = status === 'queued' ? 'running' : status;
      expect(await markRunningScript.run(redis, { meta: wl.meta }, { now: 5, eventsChannel: wl.events })).toBe(expected);
      expect(await redis.hget(wl.meta, 'status')).toBe(expected);
    }
    expect(await markRunningScript.run(redis, { meta: keys.workload('none').meta }, { now: 5, eventsChannel: 'x' })).toBe('missing');
  });

  it('cancels a queued or running workload once, and leaves a final one as it is', async () => {
    for (const status of WORKLOAD_STATUSES) {
      const wl = await workload(`cancel-${status}`, status);
      await redis.hset(wl.chunks, '0', '{}');
      const answer = await cancelScript.run(
        redis,
        { meta: wl.meta, chunks: wl.chunks, requestHeaders: wl.requestHeaders },
        { now: 5, eventsChannel: wl.events, finishedChannel: keys.finishedChannel, cancelChannel: keys.cancelChannel, workloadId: `cancel-${status}` },
      );
      const live = status === 'queued' || status === 'running';
      expect(answer).toBe(live ? 'cancelled-now' : status);
      expect(await redis.hget(wl.meta, 'status')).toBe(live ? 'cancelled' : status);
      // A cancelled workload's chunk payloads go: nothing will feed or re-add them.
      expect(await redis.exists(wl.chunks)).toBe(live ? 0 : 1);
    }
  });

  it('merges a chunk slot by slot: the first outcome of each item wins, counters grow by what was new', async () => {
    const wl = await workload('merge', 'queued', 4);
    const sep = SLOT_SEPARATOR;
    expect(await record('merge', wl, ['1', '', '', ''].join(sep), 1, 0)).toEqual({ status: 'running', newlyCompleted: 1, newlyFailed: 0 });
    const error = `${ERROR_MARK}{"code":"TASK_ERROR","message":"x"}`;
    expect(await record('merge', wl, ['9', '2', error, ''].join(sep), 3, 1)).toEqual({ status: 'running', newlyCompleted: 1, newlyFailed: 1 });
    expect(await redis.hget(wl.results, '0')).toBe(['1', '2', error, ''].join(sep));
    // The same write again: nothing is new, nothing changes.
    expect(await record('merge', wl, ['9', '2', error, ''].join(sep), 3, 1)).toEqual({ status: 'running', newlyCompleted: 0, newlyFailed: 0 });
    expect(await record('merge', wl, ['', '', '', '4'].join(sep), 1, 0)).toEqual({ status: 'failed', newlyCompleted: 1, newlyFailed: 0 });
    expect(await redis.hgetall(wl.meta)).toMatchObject({ status: 'failed', completed: '3', failed: '1', finishedAt: '1000' });
    // Final: later writes change nothing.
    expect(await record('merge', wl, ['', '', '', ''].join(sep), 0, 0, 1, 4)).toEqual({ status: 'failed', newlyCompleted: 0, newlyFailed: 0 });
    expect(await redis.hexists(wl.results, '1')).toBe(0);
  });

  it('publishes the new slots of each write, and the final status on the finished channel', async () => {
    const wl = await workload('events', 'running', 2);
    const messages: Array<[string, string]> = [];
    subscriber.on('message', (channel: string, message: string) => messages.push([channel, message]));
    await subscriber.subscribe(wl.events, keys.finishedChannel);
    await record('events', wl, `"a"${SLOT_SEPARATOR}`, 1, 0, 0, 10);
    await record('events', wl, `"again"${SLOT_SEPARATOR}"b"`, 2, 0, 0, 10);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(messages).toEqual([
      [wl.events, `{"type":"items","status":"running","completed":1,"failed":0,"total":2,"start":10}\n"a"${SLOT_SEPARATOR}`],
      [wl.events, `{"type":"items","status":"completed","completed":2,"failed":0,"total":2,"start":10}\n${SLOT_SEPARATOR}"b"`],
      [keys.finishedChannel, '{"id":"events","status":"completed"}'],
    ]);
  });

  it('finds the chunks that have an item without an outcome', async () => {
    const wl = await workload('missing', 'running', 6);
    await redis.hset(wl.results, '0', `1${SLOT_SEPARATOR}2`, '1', `${SLOT_SEPARATOR}3`, '3', `4${SLOT_SEPARATOR}`);
    expect(await chunksMissingOutcomesScript.run(redis, { results: wl.results }, { fromChunk: 0, toChunk: 4 })).toEqual([1, 2, 3]);
    expect(await chunksMissingOutcomesScript.run(redis, { results: wl.results }, { fromChunk: 0, toChunk: 1 })).toEqual([]);
  });

  it('reads the record and the chunks of a range in one call, as Buffers', async () => {
    const wl = keys.workload('read');
    await redis.hset(wl.meta, { id: 'read', status: 'running', total: 7, chunkSize: 3 });
    await redis.hset(wl.results, '1', `4${SLOT_SEPARATOR}5${SLOT_SEPARATOR}6`);
    const read = await readResultsScript.run(redis, { meta: wl.meta, results: wl.results }, { offset: 2, count: 3 });
    expect(read.fields).toMatchObject({ id: 'read', total: '7', chunkSize: '3' });
    expect(read.firstChunk).toBe(0);
    expect(read.texts).toEqual([null, Buffer.from(`4${SLOT_SEPARATOR}5${SLOT_SEPARATOR}6`)]);
    // Past the end: the record alone; no such workload: nothing.
    expect((await readResultsScript.run(redis, { meta: wl.meta, results: wl.results }, { offset: 7, count: 3 })).texts).toEqual([]);
    expect(await readResultsScript.run(redis, { meta: keys.workload('none').meta, results: keys.workload('none').results }, { offset: 0, count: 3 })).toEqual({
      firstChunk: 0,
      texts: [],
    });
  });

  it("keeps every key of one call in the workload's cluster slot", () => {
    const wl = keys.workload('any');
    const slots = new Set([wl.meta, wl.results, wl.chunks, wl.requestHeaders].map(calculateSlot));
    expect(slots.size).toBe(1);
  });
});
