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
 *   crashed holder once they expire. Waiting is told, not polled for: polling every few ms would cost
 *   hundreds of script runs a second per process, on the cores the requests need.
 * - Sharing between processes: while other processes wait, a process keeps (and asks for) no more than
 *   its fair share (limit / waiting processes, itself included): a finished request's lease past that
 *   share goes back to Redis, and the news wakes the waiting processes. Without this, the first process
 *   to ask kept every lease for as long as it had requests (the hand-off never lets go), and the others
 *   sat on their chunks until it ran dry: one event loop took every answer of every round, and the others
 *   opened their connections only at the end (bench/fetch-throughput.ts).
 * - Time is Redis's (TIME in the scripts), so hosts with skewed clocks agree on expiries.
 *
 * A workload's lease state here lives as long as its session (workload-session.ts): opened by the
 * session's first fetch chunk, closed (its leases given back) when the session's last chunk is done.
 */
import { randomBytes } from 'node:crypto';
import type { RedisClient } from '../core/redis-connection';
import type { RedisSubscriber } from '../core/redis-subscriber';
import type { Keys, WorkloadKeys } from '../core/keys';
import { grantLeases, parseLeaseNews, releaseLeases, renewLeases } from '../core/redis/fetch-lease-scripts';

/** How long a process's note that it waits for leases lasts without a poll renewing it. */
const DEMAND_TTL_MS = 1000;

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
  /** The workload's keys: its lease set and demand set are the ones used here. */
  keys: WorkloadKeys;
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

/** One workload's slots in this process, for the chunks of its session. */
export interface WorkloadLeases {
  /** Waits for one of the workload's slots; answers the function that gives it back. */
  acquire(signal?: AbortSignal): Promise<ReleaseSlot>;
  /** Gives back what is left once no chunk of the workload runs here any more. */
  close(): void;
}

export class WorkloadSlots {
  private readonly options: Required<WorkloadSlotsOptions>;
  /** The open lease states, by workload: where the news of other processes and the renewals find them. */
  private readonly workloads = new Map<string, WorkloadState>();
  /** Short (the demand set lists it and the news carries the list), random, unique enough per process. */
  private readonly processToken = randomBytes(9).toString('base64url');
  private nextLease = 0;
  private readonly renewTimer: NodeJS.Timeout;
  private stopListening?: () => void;
  private closed = false;

  constructor(
    private readonly redis: RedisClient,
    private readonly subscriber: RedisSubscriber,
    private readonly keys: Keys,
    options: WorkloadSlotsOptions = {},
  ) {
    const leaseTtlMs = options.leaseTtlMs ?? 30_000;
    this.options = { leaseTtlMs, renewEveryMs: leaseTtlMs / 3, waitingPollMs: 250, ...options };
    this.renewTimer = setInterval(() => void this.renew(), this.options.renewEveryMs).unref();
  }

  /** Listens for the news of other processes; call before the first open. */
  async start(): Promise<void> {
    this.stopListening = await this.subscriber.listen(this.keys.fetchLeaseChannel, (message) => this.hear(message));
  }

  /** The lease state of a workload whose `concurrency` is `limit`; one open at a time per workload. */
  open(workloadId: string, limit: number): WorkloadLeases {
    const state: WorkloadState = {
      id: workloadId,
      keys: this.keys.workload(workloadId),
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
    return {
      acquire: (signal) => this.acquire(state, signal),
      close: () => this.closeState(state),
    };
  }

  private async acquire(state: WorkloadState, signal?: AbortSignal): Promise<ReleaseSlot> {
    signal?.throwIfAborted();
    const spare = state.othersWaiting > 0 && state.held.size >= this.fairShare(state) ? undefined : state.returning.pop();
    const leaseId =
      spare ??
      (await new Promise<string>((resolve, reject) => {
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
      }));
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

  /**
   * No chunk of the workload runs here any more: its spare leases go back to Redis now, with the
   * withdrawal of its demand note, rather than at the end of the tick. A lease still held, or a grant
   * still on its way, goes back when its request ends or the grant comes (release, poll).
   */
  private closeState(state: WorkloadState): void {
    if (this.workloads.get(state.id) === state) this.workloads.delete(state.id);
    state.wake?.();
    const leases = state.returning.splice(0);
    if ((leases.length > 0 || state.demanding) && !this.closed) void this.giveBack(state, leases);
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
    return releaseLeases
      .run(
        this.redis,
        state.keys,
        { channel: this.keys.fetchLeaseChannel, workloadId: state.id, token: this.processToken, withdraw: withdraw ? '1' : '0' },
        leases,
      )
      .catch(() => undefined);
  }

  /** News from the channel: who waits for a workload's leases now, after another process's change. */
  private hear(message: string): void {
    const { workloadId, announcer, waiting } = parseLeaseNews(message);
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

  private othersIn(waiting: string[]): number {
    let count = 0;
    for (const token of waiting) if (token !== this.processToken) count++;
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
          const grant = await grantLeases.run(this.redis, state.keys, {
            channel: this.keys.fetchLeaseChannel,
            workloadId: state.id,
            leaseTtlMs: this.options.leaseTtlMs,
            limit: state.limit,
            room,
            wanted,
            token: this.processToken,
            firstLease: first,
            demandTtlMs: DEMAND_TTL_MS,
          });
          granted = grant.granted;
          state.demanding = granted < wanted;
          state.othersWaiting = this.othersIn(grant.waiting);
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
      await renewLeases.run(this.redis, state.keys, { leaseTtlMs: this.options.leaseTtlMs }, [...state.held]).catch(() => undefined);
    }
  }
}
