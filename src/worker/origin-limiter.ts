/**
 * `perHostConcurrency`: at most that many requests of one workload in flight to one origin, in this
 * process. One limiter per workload, held by its session (workload-session.ts); in it, one semaphore per
 * origin, dropped when nobody holds or waits for it (a workload may reach many origins over its life).
 * The workload's undici agent caps its sockets per origin at the same number (fetch/agent-pool.ts); this
 * limiter makes a request wait *before* it takes a workload-wide slot, instead of queueing inside undici
 * while holding one.
 */
import { Semaphore } from './semaphore';

interface Entry {
  semaphore: Semaphore;
  /** Holders plus waiters: the entry is dropped when this falls to 0. */
  users: number;
}

export class OriginLimiter {
  /** By origin. */
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly perHostConcurrency: number) {}

  /** Waits for a slot; answers the function that gives it back (call it exactly once). */
  async acquire(origin: string, signal?: AbortSignal): Promise<() => void> {
    let entry = this.entries.get(origin);
    if (!entry) {
      entry = { semaphore: new Semaphore(this.perHostConcurrency), users: 0 };
      this.entries.set(origin, entry);
    }
    const held = entry;
    held.users++;
    try {
      await held.semaphore.acquire(signal);
    } catch (error) {
      this.leave(origin, held);
      throw error;
    }
    return () => {
      held.semaphore.release();
      this.leave(origin, held);
    };
  }

  /** Origins with a holder or a waiter right now (for tests and metrics). */
  get size(): number {
    return this.entries.size;
  }

  private leave(origin: string, entry: Entry): void {
    entry.users--;
    if (entry.users === 0 && this.entries.get(origin) === entry) this.entries.delete(origin);
  }
}
