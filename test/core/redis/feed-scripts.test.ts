/**
 * The windowed-feeding scripts against a real Redis: a plan counts each finished chunk once, claims
 * chunks only when the window has room and never past it, hands every chunk out exactly once, and
 * feeds nothing to a workload that ended; the unfinished-chunk look finds the fed chunks not done.
 */
import { Redis } from 'ioredis';
import { Keys } from '../../../src/core/keys';
import { feedPlan, unfinishedFed, type FeedPlan } from '../../../src/core/redis/feed-scripts';
import { deletePrefix, testRedisUrl, uniquePrefix } from '../../utils/redis';

const calculateSlot = require('cluster-key-slot') as (key: string) => number;

describe('feed scripts', () => {
  const prefix = uniquePrefix('feed-scripts');
  const keys = new Keys(prefix);
  let redis: Redis;
  let workloads = 0;

  beforeAll(() => {
    redis = new Redis(testRedisUrl());
  });
  afterAll(async () => {
    redis.disconnect();
    await deletePrefix(prefix);
  });

  /** A windowed workload as ChunkFeeder.start leaves it: the first window fed, nothing done yet. */
  const seed = async (chunks: number, window: number, status = 'running'): Promise<string> => {
    const id = `w${++workloads}`;
    const k = keys.workload(id);
    await redis
      .multi()
      .hset(k.meta, { status })
      .hset(k.feed, { next: Math.min(window, chunks), done: 0, window, chunks, type: 'compute', jobOptions: '{"attempts":3}' })
      .hset(k.chunks, Object.fromEntries(Array.from({ length: chunks }, (_, i) => [i, JSON.stringify({ chunk: i })])))
      .setbit(k.doneChunks, chunks - 1, 0)
      .exec();
    return id;
  };
  const plan = (id: string, finishedChunk = -1): Promise<FeedPlan> => feedPlan.run(redis, keys.workload(id), { finishedChunk, ttlSeconds: 60 });
  const feedState = async (id: string): Promise<{ next: number; done: number }> => {
    const [next, done] = await redis.hmget(keys.workload(id).feed, 'next', 'done');
    return { next: Number(next), done: Number(done) };
  };

  it('claims the next chunks once the window has dropped to half, with their payloads', async () => {
    const id = await seed(20, 4);
    expect(await plan(id)).toEqual({ state: 'full', next: 4 });
    expect(await plan(id, 0)).toEqual({ state: 'full', next: 4 });
    expect(await plan(id, 1)).toEqual({
      state: 'claimed',
      first: 4,
      type: 'compute',
      jobOptions: '{"attempts":3}',
      payloads: [JSON.stringify({ chunk: 4 }), JSON.stringify({ chunk: 5 })],
    });
    expect(await feedState(id)).toEqual({ next: 6, done: 2 });
    expect(await redis.ttl(keys.workload(id).feed)).toBeGreaterThan(0);
  });

  it('counts a chunk that finishes twice once', async () => {
    const id = await seed(20, 4);
    await plan(id, 2);
    await plan(id, 2);
    expect(await feedState(id)).toEqual({ next: 4, done: 1 });
    expect(await plan(id, 2)).toEqual({ state: 'full', next: 4 });
  });

  it('hands every chunk out exactly once and never has more than the window fed and not done', async () => {
    const chunks = 37;
    const window = 6;
    const id = await seed(chunks, window);
    const handedOut = [0, 1, 2, 3, 4, 5];
    const running = [...handedOut];
    while (running.length > 0) {
      // Chunks finish out of order, and several feeders plan at once.
      const finished = running.splice(Math.floor(Math.random() * running.length), 1)[0];
      const plans = await Promise.all([plan(id, finished), plan(id), plan(id)]);
      for (const answer of plans) {
        if (answer.state !== 'claimed') continue;
        const claimed = answer.payloads.map((_, offset) => answer.first + offset);
        handedOut.push(...claimed);
        running.push(...claimed);
      }
      const { next, done } = await feedState(id);
      expect(next - done).toBeLessThanOrEqual(window);
      expect(next).toBeLessThanOrEqual(chunks);
      expect(next).toBe(handedOut.length);
    }
    expect(handedOut.sort((a, b) => a - b)).toEqual(Array.from({ length: chunks }, (_, i) => i));
    expect(await plan(id)).toEqual({ state: 'full', next: chunks });
    expect(await feedState(id)).toEqual({ next: chunks, done: chunks });
  });

  it('feeds nothing to a workload that ended, and drops its payloads', async () => {
    for (const status of ['completed', 'failed', 'cancelled']) {
      const id = await seed(20, 4, status);
      expect(await plan(id, 0)).toEqual({ state: 'closed' });
      expect(await plan(id, 1)).toEqual({ state: 'closed' });
      expect(await redis.exists(keys.workload(id).chunks)).toBe(0);
      // The finished chunk is still counted, once.
      expect(await feedState(id)).toEqual({ next: 4, done: 2 });
    }
  });

  it('answers closed for a workload that is not windowed', async () => {
    const id = `w${++workloads}`;
    await redis.hset(keys.workload(id).meta, { status: 'queued' });
    expect(await plan(id)).toEqual({ state: 'closed' });
    expect(await unfinishedFed.run(redis, keys.workload(id), { limit: 10 })).toBeUndefined();
  });

  it('answers a null payload for a chunk whose payload is gone', async () => {
    const id = await seed(10, 4);
    await redis.hdel(keys.workload(id).chunks, '5');
    await plan(id, 0);
    const answer = await plan(id, 1);
    expect(answer).toMatchObject({ state: 'claimed', first: 4, payloads: [JSON.stringify({ chunk: 4 }), null] });
  });

  it('finds the fed chunks that are not done, in order, stopping near the limit', async () => {
    const id = await seed(40, 30);
    for (const chunk of [0, 1, 2, 5, 8, 9, 10, 11, 12, 13, 14, 15, 20]) await plan(id, chunk);
    const next = (await feedState(id)).next;
    expect(await unfinishedFed.run(redis, keys.workload(id), { limit: 1000 })).toEqual({
      next,
      unfinished: Array.from({ length: next }, (_, i) => i).filter((i) => ![0, 1, 2, 5, 8, 9, 10, 11, 12, 13, 14, 15, 20].includes(i)),
    });
    const limited = await unfinishedFed.run(redis, keys.workload(id), { limit: 2 });
    expect(limited?.unfinished.slice(0, 2)).toEqual([3, 4]);
    expect(limited!.unfinished.length).toBeLessThanOrEqual(2 + 7);
  });

  it('names keys of one workload only, which share its hash tag', () => {
    const workload = keys.workload('some-workload');
    for (const script of [feedPlan, unfinishedFed]) {
      const slots = new Set(script.definition.keys.map((name) => calculateSlot(workload[name])));
      expect(slots).toEqual(new Set([calculateSlot('some-workload')]));
    }
  });
});
