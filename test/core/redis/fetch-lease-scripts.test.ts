/**
 * The fetch lease scripts against a real Redis: a grant never takes a workload past its limit however
 * many processes ask at once, a process granted too few notes itself as waiting and the others hear of
 * it, leases given back or expired come free, and giving back or renewing twice changes nothing more.
 */
import { Redis } from 'ioredis';
import { Keys } from '../../../src/core/keys';
import { grantLeases, parseLeaseNews, releaseLeases, renewLeases, type LeaseGrant, type LeaseNews } from '../../../src/core/redis/fetch-lease-scripts';
import { deletePrefix, testRedisUrl, uniquePrefix } from '../../utils/redis';

const calculateSlot = require('cluster-key-slot') as (key: string) => number;

describe('fetch lease scripts', () => {
  const prefix = uniquePrefix('fetch-lease-scripts');
  const keys = new Keys(prefix);
  const channel = keys.fetchLeaseChannel;
  let redis: Redis;
  let listener: Redis;
  const news: LeaseNews[] = [];
  let workloads = 0;

  beforeAll(async () => {
    redis = new Redis(testRedisUrl());
    listener = new Redis(testRedisUrl());
    listener.on('message', (_, message: string) => news.push(parseLeaseNews(message)));
    await listener.subscribe(channel);
  });
  afterAll(async () => {
    listener.disconnect();
    redis.disconnect();
    await deletePrefix(prefix);
  });

  const newWorkload = (): string => `w${++workloads}`;
  const grant = (
    id: string,
    token: string,
    ask: { limit: number; room: number; wanted?: number; firstLease?: number; leaseTtlMs?: number },
  ): Promise<LeaseGrant> =>
    grantLeases.run(redis, keys.workload(id), {
      channel,
      workloadId: id,
      leaseTtlMs: ask.leaseTtlMs ?? 30_000,
      limit: ask.limit,
      room: ask.room,
      wanted: ask.wanted ?? ask.room,
      token,
      firstLease: ask.firstLease ?? 0,
      demandTtlMs: 1000,
    });
  const release = (id: string, token: string, leases: string[], withdraw: '0' | '1' = '0'): Promise<void> =>
    releaseLeases.run(redis, keys.workload(id), { channel, workloadId: id, token, withdraw }, leases);
  const leasesOf = (id: string): Promise<string[]> => redis.zrange(keys.workload(id).fetchLeases, 0, -1);
  const waitingOf = (id: string): Promise<string[]> => redis.zrange(keys.workload(id).fetchLeaseDemand, 0, -1);
  /** The workload's news, once `count` messages of it have arrived (or a second has passed). */
  const heard = async (id: string, count: number): Promise<LeaseNews[]> => {
    const until = Date.now() + 1000;
    const mine = (): LeaseNews[] => news.filter((message) => message.workloadId === id);
    while (mine().length < count && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 5));
    return mine();
  };

  it('grants up to the limit, names the leases from the first lease number, and notes a process granted too few', async () => {
    const id = newWorkload();
    expect(await grant(id, 'a', { limit: 3, room: 5, firstLease: 7 })).toEqual({ granted: 3, waiting: ['a'] });
    expect((await leasesOf(id)).sort()).toEqual(['a:7', 'a:8', 'a:9']);
    expect(await grant(id, 'b', { limit: 3, room: 2 })).toEqual({ granted: 0, waiting: ['a', 'b'] });
    expect(await heard(id, 2)).toEqual([
      { workloadId: id, announcer: 'a', waiting: ['a'] },
      { workloadId: id, announcer: 'b', waiting: ['a', 'b'] },
    ]);
  });

  it('never goes past the limit when many processes ask at once', async () => {
    const id = newWorkload();
    const grants = await Promise.all(Array.from({ length: 12 }, (_, i) => grant(id, `p${i}`, { limit: 5, room: 3 })));
    expect(grants.reduce((sum, { granted }) => sum + granted, 0)).toBe(5);
    expect(await leasesOf(id)).toHaveLength(5);
    expect(await grant(id, 'late', { limit: 5, room: 1 })).toMatchObject({ granted: 0 });
  });

  it('a process granted all it wanted takes its note off', async () => {
    const id = newWorkload();
    await grant(id, 'a', { limit: 1, room: 2 });
    expect(await waitingOf(id)).toEqual(['a']);
    expect(await grant(id, 'b', { limit: 3, room: 2, wanted: 2 })).toEqual({ granted: 2, waiting: ['a'] });
    expect(await grant(id, 'a', { limit: 3, room: 0, wanted: 0 })).toEqual({ granted: 0, waiting: [] });
    expect(await waitingOf(id)).toEqual([]);
  });

  it('gives leases back once: a second release changes nothing', async () => {
    const id = newWorkload();
    await grant(id, 'a', { limit: 4, room: 3 });
    expect(await release(id, 'a', ['a:0'])).toBeUndefined();
    expect(await leasesOf(id)).toHaveLength(2);
    await release(id, 'a', ['a:0']);
    expect(await leasesOf(id)).toHaveLength(2);
    expect(await grant(id, 'b', { limit: 4, room: 4 })).toMatchObject({ granted: 2 });
  });

  it('withdraws a process from the waiting ones, and tells those that wait', async () => {
    const id = newWorkload();
    await grant(id, 'a', { limit: 1, room: 1 });
    await grant(id, 'b', { limit: 1, room: 1 });
    await grant(id, 'c', { limit: 1, room: 1 });
    expect(await waitingOf(id)).toEqual(['b', 'c']);
    await release(id, 'b', [], '1');
    expect(await waitingOf(id)).toEqual(['c']);
    await release(id, 'a', ['a:0']);
    expect((await heard(id, 4)).slice(2)).toEqual([
      { workloadId: id, announcer: 'b', waiting: ['c'] },
      { workloadId: id, announcer: 'a', waiting: ['c'] },
    ]);
  });

  it('lets expired leases go to the next grant', async () => {
    const id = newWorkload();
    await grant(id, 'dead', { limit: 2, room: 2, leaseTtlMs: 50 });
    expect(await grant(id, 'b', { limit: 2, room: 2 })).toMatchObject({ granted: 0 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await grant(id, 'b', { limit: 2, room: 2 })).toMatchObject({ granted: 2 });
    expect((await leasesOf(id)).sort()).toEqual(['b:0', 'b:1']);
  });

  it('renews live leases only, and renewing twice is the same as once', async () => {
    const id = newWorkload();
    const key = keys.workload(id).fetchLeases;
    await grant(id, 'a', { limit: 3, room: 2, leaseTtlMs: 1000 });
    await release(id, 'a', ['a:1']);
    const before = Number(await redis.zscore(key, 'a:0'));
    const renew = (): Promise<void> => renewLeases.run(redis, keys.workload(id), { leaseTtlMs: 60_000 }, ['a:0', 'a:1']);
    expect(await renew()).toBeUndefined();
    await renew();
    expect(await leasesOf(id)).toEqual(['a:0']);
    expect(Number(await redis.zscore(key, 'a:0'))).toBeGreaterThan(before + 50_000);
    expect(await redis.pttl(key)).toBeGreaterThan(100_000);
  });

  it('reads a message with nobody waiting', () => {
    expect(parseLeaseNews('w7 tok ')).toEqual({ workloadId: 'w7', announcer: 'tok', waiting: [] });
    expect(parseLeaseNews('w7 tok x,y')).toEqual({ workloadId: 'w7', announcer: 'tok', waiting: ['x', 'y'] });
  });

  it('names keys of one workload only, which share its hash tag', () => {
    const workload = keys.workload('some-workload');
    for (const script of [grantLeases, releaseLeases, renewLeases]) {
      const slots = new Set(script.definition.keys.map((name) => calculateSlot(workload[name])));
      expect(slots).toEqual(new Set([calculateSlot('some-workload')]));
    }
  });
});
