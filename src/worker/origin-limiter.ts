/**
 * `perHostConcurrency`: at most that many requests of one workload in flight to one origin, in this
 * process; one semaphore per (workload, origin), dropped when nobody holds or waits for it. The
 * workload's undici agent caps its sockets per origin at the same number (http-fetcher.ts); this limiter
 * makes a request wait *before* it takes a workload-wide slot, instead of queueing inside undici while
 * holding one.
 */
import { Semaphore } from './semaphore';

interface Entry {
  semaphore: Semaphore;
  /** Holders plus waiters: the entry is dropped when this falls to 0. */
  users: number;
}

export class OriginLimiter {
  private readonly entries = new Map<string, Entry>();

  /** Waits for a slot; answers the function that gives it back (call it exactly once). */
  async acquire(workloadId: string, origin: string, limit: number, signal?: AbortSignal): Promise<() => void> {
    const key = `${workloadId} ${origin}`;
    let entry = this.entries.get(key);
    if (!entry) {
      entry = { semaphore: new Semaphore(limit), users: 0 };
      this.entries.set(key, entry);
    }
    const held = entry;
    held.users++;
    try {
      await held.semaphore.acquire(signal);
    } catch (error) {
      this.leave(key, held);
      throw error;
    }
    return () => {
      held.semaphore.release();
      this.leave(key, held);
    };
  }

  /** Origins with a holder or a waiter right now (for tests and metrics). */
  get size(): number {
    return this.entries.size;
  }

  private leave(key: string, entry: Entry): void {
    entry.users--;
    if (entry.users === 0 && this.entries.get(key) === entry) this.entries.delete(key);
  }
}
