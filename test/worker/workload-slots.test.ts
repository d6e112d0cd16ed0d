/**
 * The workload-wide fetch concurrency through Redis: several brokers (as several processes would have)
 * never hold more leases than the limit together, share them when more than one waits, and a crashed
 * holder's leases come back after their TTL.
 */
import { Redis } from 'ioredis';
import { Keys } from '../../src/core/keys';
import { RedisSubscriber } from '../../src/core/redis-subscriber';
import { WorkloadSlots, type WorkloadLeases } from '../../src/worker/workload-slots';
import { deletePrefix, testRedisUrl, uniquePrefix } from '../utils/redis';

describe('workload slots', () => {
  const prefix = uniquePrefix('slots');
  const keys = new Keys(prefix);
  const connections: Redis[] = [];
  const subscribers: RedisSubscriber[] = [];
  const brokers: WorkloadSlots[] = [];
  const opened: WorkloadLeases[] = [];
  /** A broker with its own connections, as a worker process has. */
  const broker = async (options = {}): Promise<WorkloadSlots> => {
    const connection = new Redis(testRedisUrl());
    const subscriber = new RedisSubscriber(new Redis(testRedisUrl()));
    connections.push(connection);
    subscribers.push(subscriber);
    const slots = new WorkloadSlots(connection, subscriber, keys, options);
    await slots.start();
    brokers.push(slots);
    return slots;
  };
  /** A workload's lease state in each broker, as the workload's session there holds it. */
  const open = (workloadId: string, limit: number, ...holders: WorkloadSlots[]): WorkloadLeases[] => {
    const leases = holders.map((slots) => slots.open(workloadId, limit));
    opened.push(...leases);
    return leases;
  };
  afterAll(async () => {
    for (const leases of opened) leases.close();
    for (const slots of brokers) await slots.close();
    for (const subscriber of subscribers) await subscriber.close();
    for (const connection of connections) connection.disconnect();
    await deletePrefix(prefix);
  });

  it('three brokers never exceed a limit of 4 together, and give every lease back', async () => {
    const all = open('w1', 4, ...(await Promise.all([broker(), broker(), broker()])));
    let inFlight = 0;
    let peak = 0;
    await Promise.all(
      Array.from({ length: 60 }, async (_, index) => {
        const release = await all[index % 3].acquire();
        inFlight++;
        peak = Math.max(peak, inFlight);
        await new Promise((resolve) => setTimeout(resolve, 5 + (index % 4) * 5));
        inFlight--;
        release();
      }),
    );
    expect(peak).toBe(4);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await connections[0].zcard(keys.workload('w1').fetchLeases)).toBe(0);
  });

  it('a broker that holds every lease gives its excess back while another broker waits', async () => {
    const [first, second] = open('w4', 4, ...(await Promise.all([broker(), broker()])));
    let inFlight = 0;
    let peak = 0;
    let firstBusy = true;
    const hold = async (leases: WorkloadLeases): Promise<void> => {
      const release = await leases.acquire();
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 20));
      inFlight--;
      release();
    };
    // The first broker's chains of requests would keep all 4 leases for a second without sharing.
    const chains = Array.from({ length: 8 }, async () => {
      const until = Date.now() + 1000;
      while (Date.now() < until) await hold(first);
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const started = Date.now();
    await hold(second);
    const waitedMs = Date.now() - started;
    firstBusy = Date.now() < started + 900;
    await Promise.all(chains);
    expect(firstBusy).toBe(true);
    expect(waitedMs).toBeLessThan(500);
    expect(peak).toBe(4);
  });

  it('a waiter hears of freed leases at once, without polling for them', async () => {
    // The waiter polls only every ~10 s here: getting a lease within a few hundred ms means the news woke it.
    const [holder, waiter] = open('w5', 2, ...(await Promise.all([broker(), broker({ waitingPollMs: 10_000 })])));
    const held = await Promise.all([holder.acquire(), holder.acquire()]);
    const started = Date.now();
    const waiting = waiter.acquire();
    await new Promise((resolve) => setTimeout(resolve, 50));
    for (const release of held) release();
    (await waiting)();
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('a process that stops waiting withdraws at once, and the other takes the whole limit again', async () => {
    const [first, second] = open('w6', 4, ...(await Promise.all([broker({ waitingPollMs: 10_000 }), broker({ waitingPollMs: 10_000 })])));
    let inFlight = 0;
    let peakAfterSecondLeft = 0;
    let secondLeft = false;
    const hold = async (leases: WorkloadLeases, ms: number): Promise<void> => {
      const release = await leases.acquire();
      inFlight++;
      if (secondLeft && leases === first) peakAfterSecondLeft = Math.max(peakAfterSecondLeft, inFlight);
      await new Promise((resolve) => setTimeout(resolve, ms));
      inFlight--;
      release();
    };
    // Both want more than the limit: they share it, 2 and 2.
    const firstChains = Array.from({ length: 6 }, async () => {
      const until = Date.now() + 1500;
      while (Date.now() < until) await hold(first, 20);
    });
    await Promise.all(
      Array.from({ length: 6 }, async () => {
        const until = Date.now() + 400;
        while (Date.now() < until) await hold(second, 20);
      }),
    );
    secondLeft = true;
    await Promise.all(firstChains);
    // Without the withdrawal the first would stay at its share of 2 until the second's note expired (1 s).
    expect(peakAfterSecondLeft).toBe(4);
  });

  it('reclaims the leases of a holder that never gives them back, once they expire', async () => {
    const [crashed] = open('w2', 2, await broker({ leaseTtlMs: 300, renewEveryMs: 60_000 }));
    await Promise.all([crashed.acquire(), crashed.acquire()]);
    const [other] = open('w2', 2, await broker());
    const started = Date.now();
    const release = await other.acquire();
    expect(Date.now() - started).toBeGreaterThanOrEqual(200);
    release();
  });

  it('a waiter gives up with its signal', async () => {
    const [slots] = open('w3', 1, await broker());
    const held = await slots.acquire();
    const controller = new AbortController();
    const waiting = slots.acquire(controller.signal);
    controller.abort(new Error('stop'));
    await expect(waiting).rejects.toThrow('stop');
    held();
  });
});
