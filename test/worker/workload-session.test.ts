/**
 * A worker process's workload sessions: one per workload while chunks of it run, shared by those chunks,
 * dropped with everything it holds when the last one is done; cancels reach the chunks through it. The
 * cancel channel and the lease sets are real Redis, under a prefix of this test's own.
 */
import { Redis } from 'ioredis';
import { Keys } from '../../src/core/keys';
import { RedisSubscriber } from '../../src/core/redis-subscriber';
import { AddressGuard } from '../../src/worker/address-guard';
import { CancellationRegistry, WorkloadCancelledError } from '../../src/worker/cancellation-registry';
import { AgentPool } from '../../src/worker/fetch/agent-pool';
import { WorkloadSessions } from '../../src/worker/workload-session';
import { WorkloadSlots } from '../../src/worker/workload-slots';
import { eventually } from '../utils/chunkmill-harness';
import { deletePrefix, testRedisUrl, uniquePrefix } from '../utils/redis';

const FETCH = { concurrency: 2, perHostConcurrency: 4 };

describe('workload sessions', () => {
  const prefix = uniquePrefix('sessions');
  const keys = new Keys(prefix);
  let redis: Redis;
  let subscriber: RedisSubscriber;
  let cancellations: CancellationRegistry;
  let slots: WorkloadSlots;
  let agents: AgentPool;
  let sessions: WorkloadSessions;

  beforeAll(async () => {
    redis = new Redis(testRedisUrl());
    subscriber = new RedisSubscriber(new Redis(testRedisUrl()));
    cancellations = new CancellationRegistry(subscriber, keys.cancelChannel);
    slots = new WorkloadSlots(redis, subscriber, keys);
    await slots.start();
    agents = new AgentPool(new AddressGuard({ allowPrivate: true }), undefined, 60_000);
    sessions = new WorkloadSessions({ cancellations, agents, slots });
    await cancellations.start((reason) => sessions.cancel(reason));
  });
  afterAll(async () => {
    cancellations.close();
    await slots.close();
    await agents.close();
    await subscriber.close();
    redis.disconnect();
    await deletePrefix(prefix);
  });

  it('is made by the first chunk of a workload, shared by its other chunks, and dropped after the last', () => {
    const first = sessions.retain('shared');
    const second = sessions.retain('shared');
    const other = sessions.retain('other');
    expect(second).toBe(first);
    expect(other).not.toBe(first);
    expect(first.fetching(FETCH)).toBe(second.fetching(FETCH));
    expect(sessions.size).toBe(2);

    first.release();
    expect(sessions.size).toBe(2);
    second.release();
    other.release();
    expect(sessions.size).toBe(0);

    const again = sessions.retain('shared');
    expect(again).not.toBe(first);
    again.release();
  });

  it('gives its leases back to Redis when the last chunk is done', async () => {
    const session = sessions.retain('leases');
    const { leases } = session.fetching(FETCH);
    const releases = await Promise.all([leases.acquire(), leases.acquire()]);
    expect(await redis.zcard(keys.workload('leases').fetchLeases)).toBe(2);
    for (const release of releases) release();
    session.release();
    await eventually(async () => (await redis.zcard(keys.workload('leases').fetchLeases)) === 0, 2000);
  });

  it('hands its agent back to the pool, for the next workload with the same perHostConcurrency', () => {
    const first = sessions.retain('agent-1');
    const { agent } = first.fetching(FETCH);
    // Workloads running at the same time never share an agent.
    const concurrent = sessions.retain('agent-2');
    expect(concurrent.fetching(FETCH).agent).not.toBe(agent);
    concurrent.release();
    first.release();

    const next = sessions.retain('agent-3');
    expect(next.fetching(FETCH).agent).toBe(agent);
    const otherLimit = sessions.retain('agent-4');
    expect(otherLimit.fetching({ ...FETCH, perHostConcurrency: 8 }).agent).not.toBe(agent);
    next.release();
    otherLimit.release();
  });

  it('stops the running chunks of a cancelled workload, and a late chunk of it at once', async () => {
    const stopped: string[] = [];
    const chunk = (name: string, workloadId: string) => {
      const session = sessions.retain(workloadId);
      const unregister = session.onCancel((reason) => {
        expect(reason).toBeInstanceOf(WorkloadCancelledError);
        stopped.push(name);
      });
      return () => {
        unregister();
        session.release();
      };
    };
    const done = [chunk('a1', 'cancelled'), chunk('a2', 'cancelled'), chunk('b', 'running')];
    const finished = chunk('a0', 'cancelled');
    finished();

    await redis.publish(keys.cancelChannel, 'cancelled');
    await eventually(() => stopped.length === 2, 2000);
    expect(stopped.sort()).toEqual(['a1', 'a2']);

    const late = chunk('a3', 'cancelled');
    expect(stopped).toContain('a3');
    for (const release of [...done, late]) release();
    expect(sessions.size).toBe(0);
  });
});
