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
 * - Waiting: when the set is full, the broker asks again after a short jittered backoff (2 → 10 ms),
 *   which stays cheap for Redis and quick to notice a slot freed by another process.
 * - Sharing between processes: a process that asks and gets fewer leases than it has waiters notes its
 *   demand (a sorted set beside the leases, entries expiring after DEMAND_TTL_MS). A process that holds
 *   leases checks that set every DEMAND_CHECK_MS; while others wait, it keeps (and asks for) no more
 *   than its fair share (limit / waiting processes, itself included): a finished request's lease past
 *   that share goes back to Redis, where the waiting processes find it at their next poll. Without
 *   this, the first process to ask kept every lease for as long as it had requests (the hand-off never
 *   lets go), and the others sat on their chunks until it ran dry: one event loop took every answer of
 *   every round, and the others opened their connections only at the end (bench/fetch-throughput.ts).
 * - Time is Redis's (TIME in the scripts), so hosts with skewed clocks agree on expiries.
 */
import { randomUUID } from 'node:crypto';
import type { RedisClient } from '../core/redis-connection';
import type { Keys } from '../core/keys';

// Lease ids are `${prefix}:${first + i}`, made here rather than sent: a poll asks for as many leases as
// its waiters (often dozens), and their ids as arguments made each poll a few KB to write and parse.
// KEYS[2], the demand set, notes the asking process (ARGV[4], its token) while it gets fewer than it wants.
const GRANT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl, limit, wanted, prefix, first, demandTtl = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4], tonumber(ARGV[5]), tonumber(ARGV[6])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local granted = math.max(0, math.min(limit - redis.call('ZCARD', KEYS[1]), wanted))
for i = 0, granted - 1 do
  redis.call('ZADD', KEYS[1], now + ttl, prefix .. ':' .. (first + i))
end
redis.call('PEXPIRE', KEYS[1], ttl * 2)
if granted < wanted then
  redis.call('ZADD', KEYS[2], now + demandTtl, prefix)
  redis.call('PEXPIRE', KEYS[2], demandTtl * 2)
else
  redis.call('ZREM', KEYS[2], prefix)
end
return granted
`;

/** Processes other than ARGV[1] whose demand has not expired. */
const OTHERS_WAITING = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local count = redis.call('ZCARD', KEYS[1])
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then count = count - 1 end
return count
`;

/** How long a process's note that it waits for leases lasts without a poll renewing it. */
const DEMAND_TTL_MS = 50;
/** How often a process that holds leases of a workload looks for processes waiting for one elsewhere. */
const DEMAND_CHECK_MS = 10;

const RENEW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[1])
for i = 2, #ARGV do redis.call('ZADD', KEYS[1], 'XX', now + ttl, ARGV[i]) end
redis.call('PEXPIRE', KEYS[1], ttl * 2)
return 1
`;

type ScriptedRedis = RedisClient & {
  chunkmillGrantLeases(key: string, demandKey: string, ttlMs: number, limit: number, wanted: number, prefix: string, first: number, demandTtlMs: number): Promise<number>;
  chunkmillOthersWaiting(demandKey: string, token: string): Promise<number>;
  chunkmillRenewLeases(key: string, ...args: Array<string | number>): Promise<number>;
};

export interface WorkloadSlotsOptions {
  /** How long a lease lives without renewal: how soon a crashed process's slots come back. @defaultValue 30000 */
  leaseTtlMs?: number;
  /** @defaultValue leaseTtlMs / 3 */
  renewEveryMs?: number;
  /** Backoff bounds while the lease set is full. @defaultValue 2 and 10 */
  minPollMs?: number;
  maxPollMs?: number;
}

interface Waiter {
  grant(leaseId: string): void;
}

interface WorkloadState {
  key: string;
  demandKey: string;
  /** Other processes waiting for leases of this workload, as last checked (0: hand every lease off here). */
  othersWaiting: number;
  /** Leases given back for other processes' sake, sent to Redis together at the end of the tick. */
  yielded: string[];
  limit: number;
  /** Leases this process holds for the workload (each one is a request in flight). */
  held: Set<string>;
  waiters: Waiter[];
  polling: boolean;
  /** Held leases nobody here waits for right now, given back to Redis together at the end of the tick. */
  spare: string[];
}

/** Given back exactly once, when the request is over. */
export type ReleaseSlot = () => void;

export class WorkloadSlots {
  private readonly redis: ScriptedRedis;
  private readonly options: Required<WorkloadSlotsOptions>;
  private readonly workloads = new Map<string, WorkloadState>();
  private readonly processToken = randomUUID();
  private nextLease = 0;
  private readonly renewTimer: NodeJS.Timeout;
  private readonly demandTimer: NodeJS.Timeout;
  private checkingDemand = false;
  private closed = false;

  constructor(
    redis: RedisClient,
    private readonly keys: Keys,
    options: WorkloadSlotsOptions = {},
  ) {
    const leaseTtlMs = options.leaseTtlMs ?? 30_000;
    this.options = { leaseTtlMs, renewEveryMs: leaseTtlMs / 3, minPollMs: 2, maxPollMs: 10, ...options };
    this.redis = redis as ScriptedRedis;
    if (typeof this.redis.chunkmillGrantLeases !== 'function') {
      redis.defineCommand('chunkmillGrantLeases', { numberOfKeys: 2, lua: GRANT });
      redis.defineCommand('chunkmillOthersWaiting', { numberOfKeys: 1, lua: OTHERS_WAITING });
      redis.defineCommand('chunkmillRenewLeases', { numberOfKeys: 1, lua: RENEW });
    }
    this.renewTimer = setInterval(() => void this.renew(), this.options.renewEveryMs).unref();
    this.demandTimer = setInterval(() => void this.checkDemand(), DEMAND_CHECK_MS).unref();
  }

  /** Waits for one of the workload's `limit` slots; answers the function that gives it back. */
  async acquire(workloadId: string, limit: number, signal?: AbortSignal): Promise<ReleaseSlot> {
    signal?.throwIfAborted();
    const state = this.state(workloadId, limit);
    const spare = state.spare.pop();
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
      void this.poll(workloadId, state);
    });
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.release(workloadId, state, leaseId);
    };
  }

  /** Gives every lease back. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.renewTimer);
    clearInterval(this.demandTimer);
    const releases = [...this.workloads.values()]
      .filter((state) => state.held.size > 0)
      .map((state) => this.redis.zrem(state.key, ...state.held).catch(() => undefined));
    this.workloads.clear();
    await Promise.all(releases);
  }

  private state(workloadId: string, limit: number): WorkloadState {
    let state = this.workloads.get(workloadId);
    if (!state) {
      const keys = this.keys.workload(workloadId);
      state = { key: keys.fetchLeases, demandKey: keys.fetchLeaseDemand, othersWaiting: 0, yielded: [], limit, held: new Set(), waiters: [], polling: false, spare: [] };
      this.workloads.set(workloadId, state);
    }
    return state;
  }

  private release(workloadId: string, state: WorkloadState, leaseId: string): void {
    if (state.othersWaiting > 0 && state.held.size > this.fairShare(state)) {
      // Over this process's fair share while other processes wait: the lease goes back to Redis for them.
      state.held.delete(leaseId);
      state.yielded.push(leaseId);
      if (state.yielded.length === 1) {
        setImmediate(() => {
          const leases = state.yielded.splice(0);
          if (state.held.size === 0 && state.waiters.length === 0 && !state.polling && this.workloads.get(workloadId) === state) this.workloads.delete(workloadId);
          if (leases.length > 0 && !this.closed) this.redis.zrem(state.key, ...leases).catch(() => undefined);
        });
      }
      return;
    }
    const waiter = state.waiters.shift();
    if (waiter) {
      // Hand-off in process: the slot never goes idle and Redis is not asked.
      waiter.grant(leaseId);
      return;
    }
    // Kept until the end of the tick: a request that ends usually lets the next one of this process
    // past its origin limit a few microtasks later, and that one then takes this lease with no Redis
    // call. What is still spare then goes back to Redis in one call.
    state.spare.push(leaseId);
    if (state.spare.length === 1) setImmediate(() => this.returnSpare(workloadId, state));
  }

  private returnSpare(workloadId: string, state: WorkloadState): void {
    const leases = state.spare.splice(0);
    for (const leaseId of leases) state.held.delete(leaseId);
    if (state.held.size === 0 && state.waiters.length === 0 && !state.polling && this.workloads.get(workloadId) === state) this.workloads.delete(workloadId);
    // If Redis is unreachable the leases simply expire; nothing else to do.
    if (leases.length > 0 && !this.closed) this.redis.zrem(state.key, ...leases).catch(() => undefined);
  }

  /** Asks Redis for leases while this workload has waiters here; one loop per workload at a time. */
  private async poll(workloadId: string, state: WorkloadState): Promise<void> {
    if (state.polling) return;
    state.polling = true;
    let delayMs = this.options.minPollMs;
    try {
      // The items of a chunk ask in the same tick, one after another: wait for the tick to end, so that
      // the first request asks Redis for all of them instead of for itself alone.
      await new Promise((resolve) => setImmediate(resolve));
      while (state.waiters.length > 0 && !this.closed) {
        // While others wait, no more than this process's fair share (release() gives back the excess).
        const room = state.othersWaiting > 0 ? this.fairShare(state) - state.held.size : state.waiters.length;
        const wanted = Math.min(state.waiters.length, room);
        const first = this.nextLease;
        this.nextLease += Math.max(0, wanted);
        let granted = 0;
        if (wanted > 0) {
          try {
            granted = await this.redis.chunkmillGrantLeases(state.key, state.demandKey, this.options.leaseTtlMs, state.limit, wanted, this.processToken, first, DEMAND_TTL_MS);
          } catch {
            // Redis hiccup: wait and ask again; the waiters' own signals bound how long they wait.
          }
        }
        for (let i = 0; i < granted; i++) {
          const leaseId = `${this.processToken}:${first + i}`;
          state.held.add(leaseId);
          const waiter = state.waiters.shift();
          if (waiter) waiter.grant(leaseId);
          else this.release(workloadId, state, leaseId); // its waiter gave up meanwhile
        }
        if (state.waiters.length === 0) break;
        if (granted > 0) {
          delayMs = this.options.minPollMs;
          continue;
        }
        // Full jitter, so that many waiting processes do not ask in lockstep.
        await new Promise((resolve) => setTimeout(resolve, delayMs / 2 + Math.random() * delayMs));
        delayMs = Math.min(this.options.maxPollMs, delayMs * 2);
      }
    } finally {
      state.polling = false;
      if (state.held.size === 0 && state.waiters.length === 0 && this.workloads.get(workloadId) === state) this.workloads.delete(workloadId);
    }
  }

  /** This process's share of a workload's limit while `othersWaiting` other processes wait too. */
  private fairShare(state: WorkloadState): number {
    return Math.ceil(state.limit / (state.othersWaiting + 1));
  }

  /** Refreshes, for each workload this process holds leases of, how many other processes wait for one. */
  private async checkDemand(): Promise<void> {
    if (this.checkingDemand) return;
    this.checkingDemand = true;
    try {
      for (const state of this.workloads.values()) {
        if (state.held.size === 0) {
          state.othersWaiting = 0;
          continue;
        }
        state.othersWaiting = await this.redis.chunkmillOthersWaiting(state.demandKey, this.processToken).catch(() => 0);
      }
    } finally {
      this.checkingDemand = false;
    }
  }

  private async renew(): Promise<void> {
    for (const state of this.workloads.values()) {
      if (state.held.size === 0) continue;
      await this.redis.chunkmillRenewLeases(state.key, this.options.leaseTtlMs, ...state.held).catch(() => undefined);
    }
  }
}
