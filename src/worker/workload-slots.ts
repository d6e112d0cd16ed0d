/**
 * A fetch workload's `concurrency`: requests in flight for the whole workload, across every worker
 * process and host. Each request holds a lease in the workload's lease set in Redis (a sorted set of
 * lease id → expiry); a Lua script grants leases only while the set is smaller than the limit.
 *
 * - Crash safety: a lease carries an expiry; the grant script first drops expired leases, so the slots
 *   of a process that died come back after `leaseTtlMs`. Live processes renew their leases well before.
 * - Few round trips: one broker per process. A request that ends hands its lease straight to a request
 *   of the same workload waiting in this process (no Redis call); only a lease nobody here has asked
 *   for by the end of the tick is given back to Redis, in one call with the others of that tick.
 *   Waiters of a workload ask Redis together (those of one tick at once), for as many leases as they are.
 * - Waiting without polling: a process whose waiters get too few leases notes itself in the workload's
 *   demand set (process token → expiry) and waits for news. Every script that changes who waits, or
 *   gives leases back while someone waits, publishes the workload's waiting processes on one channel
 *   (Keys.fetchLeaseChannel); a waiting process asks again as soon as it hears of its workload from
 *   another process. A slow poll (every `waitingPollMs`) keeps its note alive and finds the leases of a
 *   crashed holder once they expire. (It used to poll every 2–10 ms and look for waiting processes every
 *   10 ms: hundreds of script runs a second per process, on the cores the requests needed.)
 * - Sharing between processes: while other processes wait, a process keeps (and asks for) no more than
 *   its fair share (limit / waiting processes, itself included): a finished request's lease past that
 *   share goes back to Redis, and the news wakes the waiting processes. Without this, the first process
 *   to ask kept every lease for as long as it had requests (the hand-off never lets go), and the others
 *   sat on their chunks until it ran dry: one event loop took every answer of every round, and the others
 *   opened their connections only at the end (bench/fetch-throughput.ts).
 * - Time is Redis's (TIME in the scripts), so hosts with skewed clocks agree on expiries.
 */
import { randomBytes } from 'node:crypto';
import type { RedisClient } from '../core/redis-connection';
import type { RedisSubscriber } from '../core/redis-subscriber';
import type { Keys } from '../core/keys';

const NOW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

/** Publishes `<workload> <announcer> <waiting tokens>` on ARGV[1]; expects `now`, the demand set in KEYS[2]. */
const ANNOUNCE = `
local function announce(announcer)
  local waiting = table.concat(redis.call('ZRANGE', KEYS[2], 0, -1), ',')
  redis.call('PUBLISH', ARGV[1], ARGV[2] .. ' ' .. announcer .. ' ' .. waiting)
  return waiting
end
`;

// KEYS: lease set, demand set. ARGV: channel, workload id, lease TTL, limit, leases to grant at most
// (`room`), leases wanted (the waiters: more than `room` when fair share holds this process back),
// process token, first lease number, demand TTL. Lease ids are `${token}:${first + i}`, made here
// rather than sent: a request for dozens of leases would otherwise be a few KB to write and parse.
// Answers { leases granted, the waiting processes' tokens (comma-separated) }.
const GRANT = `${NOW}${ANNOUNCE}
local ttl, limit, room, wanted = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local token, first, demandTtl = ARGV[7], tonumber(ARGV[8]), tonumber(ARGV[9])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local granted = math.max(0, math.min(limit - redis.call('ZCARD', KEYS[1]), room))
for i = 0, granted - 1 do
  redis.call('ZADD', KEYS[1], now + ttl, token .. ':' .. (first + i))
end
redis.call('PEXPIRE', KEYS[1], ttl * 2)
local changed = redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now) > 0
if granted < wanted then
  changed = (redis.call('ZADD', KEYS[2], now + demandTtl, token) == 1) or changed
  redis.call('PEXPIRE', KEYS[2], demandTtl * 2)
else
  changed = (redis.call('ZREM', KEYS[2], token) == 1) or changed
end
if changed then
  return { granted, announce(token) }
end
return { granted, table.concat(redis.call('ZRANGE', KEYS[2], 0, -1), ',') }
`;

// KEYS: lease set, demand set. ARGV: channel, workload id, process token, '1' when the process no
// longer waits (its note goes), lease ids to give back. Processes that wait hear of it at once.
const RELEASE = `${NOW}${ANNOUNCE}
for i = 5, #ARGV do redis.call('ZREM', KEYS[1], ARGV[i]) end
local changed = redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now) > 0
if ARGV[4] == '1' then changed = (redis.call('ZREM', KEYS[2], ARGV[3]) == 1) or changed end
if changed or redis.call('EXISTS', KEYS[2]) == 1 then announce(ARGV[3]) end
return 1
`;

const RENEW = `${NOW}
local ttl = tonumber(ARGV[1])
for i = 2, #ARGV do redis.call('ZADD', KEYS[1], 'XX', now + ttl, ARGV[i]) end
redis.call('PEXPIRE', KEYS[1], ttl * 2)
return 1
`;

/** How long a process's note that it waits for leases lasts without a poll renewing it. */
const DEMAND_TTL_MS = 1000;

type ScriptedRedis = RedisClient & {
  chunkmillGrantLeases(
    key: string, demandKey: string, channel: string, workloadId: string, ttlMs: number, limit: number,
    room: number, wanted: number, token: string, first: number, demandTtlMs: number,
  ): Promise<[number, string]>;
  chunkmillReleaseLeases(key: string, demandKey: string, channel: string, workloadId: string, token: string, withdraw: '0' | '1', ...leases: string[]): Promise<number>;
  chunkmillRenewLeases(key: string, ...args: Array<string | number>): Promise<number>;
};

export interface WorkloadSlotsOptions {
  /** How long a lease lives without renewal: how soon a crashed process's slots come back. @defaultValue 30000 */
  leaseTtlMs?: number;
  /** @defaultValue leaseTtlMs / 3 */
  renewEveryMs?: number;
  /**
   * How often a process that waits asks again without news (jittered ±50 %): it keeps its demand note
   * alive and finds expired leases. Must stay well under DEMAND_TTL_MS. @defaultValue 250
   */
  waitingPollMs?: number;
}

interface Waiter {
  grant(leaseId: string): void;
}

interface WorkloadState {
  id: string;
  key: string;
  demandKey: string;
  /** Other processes waiting for leases of this workload, as last heard (0: hand every lease off here). */
  othersWaiting: number;
  limit: number;
  /** Leases this process holds for the workload (each one is a request in flight). */
  held: Set<string>;
  waiters: Waiter[];
  polling: boolean;
  /** This process is in the demand set (its last ask got fewer leases than it had waiters). */
  demanding: boolean;
  /** Set by news that came while the poller was not asleep, so that it asks again at once. */
  news: boolean;
  /** Ends the poller's sleep early; set while it sleeps. */
  wake?: () => void;
  /** Leases to give back to Redis at the end of the tick, in one call: spare ones, and yielded ones. */
  returning: string[];
}

/** Given back exactly once, when the request is over. */
export type ReleaseSlot = () => void;

export class WorkloadSlots {
  private readonly redis: ScriptedRedis;
  private readonly options: Required<WorkloadSlotsOptions>;
  private readonly workloads = new Map<string, WorkloadState>();
  /** Short (the demand set lists it and the news carries the list), random, unique enough per process. */
  private readonly processToken = randomBytes(9).toString('base64url');
  private nextLease = 0;
  private readonly renewTimer: NodeJS.Timeout;
  private stopListening?: () => void;
  private closed = false;

  constructor(
    redis: RedisClient,
    private readonly subscriber: RedisSubscriber,
    private readonly keys: Keys,
    options: WorkloadSlotsOptions = {},
  ) {
    const leaseTtlMs = options.leaseTtlMs ?? 30_000;
    this.options = { leaseTtlMs, renewEveryMs: leaseTtlMs / 3, waitingPollMs: 250, ...options };
    this.redis = redis as ScriptedRedis;
    if (typeof this.redis.chunkmillGrantLeases !== 'function') {
      redis.defineCommand('chunkmillGrantLeases', { numberOfKeys: 2, lua: GRANT });
      redis.defineCommand('chunkmillReleaseLeases', { numberOfKeys: 2, lua: RELEASE });
      redis.defineCommand('chunkmillRenewLeases', { numberOfKeys: 1, lua: RENEW });
    }
    this.renewTimer = setInterval(() => void this.renew(), this.options.renewEveryMs).unref();
  }

  /** Listens for the news of other processes; call before the first acquire. */
  async start(): Promise<void> {
    this.stopListening = await this.subscriber.listen(this.keys.fetchLeaseChannel, (message) => this.hear(message));
  }

  /** Waits for one of the workload's `limit` slots; answers the function that gives it back. */
  async acquire(workloadId: string, limit: number, signal?: AbortSignal): Promise<ReleaseSlot> {
    signal?.throwIfAborted();
    const state = this.state(workloadId, limit);
    const spare = state.othersWaiting > 0 && state.held.size >= this.fairShare(state) ? undefined : state.returning.pop();
    const leaseId = spare ?? await new Promise<string>((resolve, reject) => {
      const onAbort = (): void => {
        const position = state.waiters.indexOf(waiter);
        if (position >= 0) state.waiters.splice(position, 1);
        reject(signal?.reason);
      };
      const waiter: Waiter = {
        grant: (granted) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(granted);
        },
      };
      state.waiters.push(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
      void this.poll(state);
    });
    if (spare !== undefined) state.held.add(spare);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.release(state, leaseId);
    };
  }

  /** Gives every lease back. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.renewTimer);
    this.stopListening?.();
    const states = [...this.workloads.values()];
    this.workloads.clear();
    await Promise.all(
      states.map((state) => {
        state.wake?.();
        const leases = [...state.held, ...state.returning];
        return leases.length > 0 || state.demanding ? this.giveBack(state, leases) : undefined;
      }),
    );
  }

  private state(workloadId: string, limit: number): WorkloadState {
    let state = this.workloads.get(workloadId);
    if (!state) {
      const keys = this.keys.workload(workloadId);
      state = {
        id: workloadId,
        key: keys.fetchLeases,
        demandKey: keys.fetchLeaseDemand,
        othersWaiting: 0,
        limit,
        held: new Set(),
        waiters: [],
        polling: false,
        demanding: false,
        news: false,
        returning: [],
      };
      this.workloads.set(workloadId, state);
    }
    return state;
  }

  private release(state: WorkloadState, leaseId: string): void {
    const overShare = state.othersWaiting > 0 && state.held.size > this.fairShare(state);
    const waiter = overShare ? undefined : state.waiters.shift();
    if (waiter) {
      // Hand-off in process: the slot never goes idle and Redis is not asked.
      waiter.grant(leaseId);
      return;
    }
    // Over this process's fair share while others wait, or nobody here waits: back to Redis at the end
    // of the tick. A request that ends usually lets the next one of this process past its origin limit
    // a few microtasks later; that one then takes a spare lease (acquire) with no Redis call.
    state.held.delete(leaseId);
    state.returning.push(leaseId);
    if (state.returning.length === 1) setImmediate(() => this.returnLeases(state));
  }

  private returnLeases(state: WorkloadState): void {
    const leases = state.returning.splice(0);
    this.forgetIfIdle(state);
    // If Redis is unreachable the leases simply expire; nothing else to do.
    if (leases.length > 0 && !this.closed) void this.giveBack(state, leases);
  }

  /**
   * Gives leases back; a process left without waiters withdraws its demand note at the same time, so that
   * the others stop sharing with it at once rather than when the note expires.
   */
  private giveBack(state: WorkloadState, leases: string[]): Promise<unknown> {
    const withdraw = state.demanding && (state.waiters.length === 0 || this.closed);
    if (withdraw) state.demanding = false;
    return this.redis
      .chunkmillReleaseLeases(state.key, state.demandKey, this.keys.fetchLeaseChannel, state.id, this.processToken, withdraw ? '1' : '0', ...leases)
      .catch(() => undefined);
  }

  private forgetIfIdle(state: WorkloadState): void {
    const idle = state.held.size === 0 && state.waiters.length === 0 && state.returning.length === 0 && !state.polling;
    if (idle && this.workloads.get(state.id) === state) this.workloads.delete(state.id);
  }

  /** News from the channel: who waits for a workload's leases now, after another process's change. */
  private hear(message: string): void {
    const [workloadId, announcer, waiting = ''] = message.split(' ');
    const state = this.workloads.get(workloadId);
    if (!state) return;
    const before = state.othersWaiting;
    state.othersWaiting = this.othersIn(waiting);
    // Our own news (we asked, or gave back) is for our waiters only when it grew our share.
    if (state.waiters.length === 0 || (announcer === this.processToken && state.othersWaiting >= before)) return;
    state.news = true;
    if (state.wake) state.wake();
    else void this.poll(state);
  }

  private othersIn(waiting: string): number {
    if (waiting === '') return 0;
    let count = 0;
    for (const token of waiting.split(',')) if (token !== this.processToken) count++;
    return count;
  }

  /** Asks Redis for leases while this workload has waiters here; one loop per workload at a time. */
  private async poll(state: WorkloadState): Promise<void> {
    if (state.polling) return;
    state.polling = true;
    try {
      // The items of a chunk ask in the same tick, one after another: wait for the tick to end, so that
      // the first request asks Redis for all of them instead of for itself alone.
      await new Promise((resolve) => setImmediate(resolve));
      while (state.waiters.length > 0 && !this.closed) {
        // While others wait, no more than this process's fair share (release() gives back the excess).
        const cap = state.othersWaiting > 0 ? this.fairShare(state) - state.held.size : state.waiters.length;
        const room = Math.max(0, Math.min(state.waiters.length, cap));
        const first = this.nextLease;
        this.nextLease += room;
        const wanted = state.waiters.length;
        let granted = 0;
        state.news = false;
        try {
          const [count, waiting] = await this.redis.chunkmillGrantLeases(
            state.key, state.demandKey, this.keys.fetchLeaseChannel, state.id, this.options.leaseTtlMs, state.limit,
            room, wanted, this.processToken, first, DEMAND_TTL_MS,
          );
          granted = count;
          state.demanding = count < wanted;
          state.othersWaiting = this.othersIn(waiting);
        } catch {
          // Redis hiccup: wait and ask again; the waiters' own signals bound how long they wait.
        }
        for (let i = 0; i < granted; i++) {
          const leaseId = `${this.processToken}:${first + i}`;
          state.held.add(leaseId);
          const waiter = state.waiters.shift();
          if (waiter) waiter.grant(leaseId);
          else this.release(state, leaseId); // its waiter gave up meanwhile
        }
        if (state.waiters.length === 0 || this.closed) break;
        // Got all it asked for (more waiters came meanwhile), or news came during the call: ask again now.
        if ((room > 0 && granted === room) || state.news) continue;
        await this.sleep(state);
      }
    } finally {
      state.polling = false;
      this.forgetIfIdle(state);
    }
  }

  /** Sleeps `waitingPollMs` (jittered, so that waiting processes do not ask in lockstep) or until news. */
  private sleep(state: WorkloadState): Promise<void> {
    const delayMs = this.options.waitingPollMs * (0.5 + Math.random());
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => state.wake?.(), delayMs);
      state.wake = () => {
        clearTimeout(timer);
        state.wake = undefined;
        resolve();
      };
    });
  }

  /** This process's share of a workload's limit while `othersWaiting` other processes wait too. */
  private fairShare(state: WorkloadState): number {
    return Math.ceil(state.limit / (state.othersWaiting + 1));
  }

  private async renew(): Promise<void> {
    for (const state of this.workloads.values()) {
      if (state.held.size === 0) continue;
      await this.redis.chunkmillRenewLeases(state.key, this.options.leaseTtlMs, ...state.held).catch(() => undefined);
    }
  }
}
