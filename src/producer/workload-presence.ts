/**
 * Tells open streams and long-polls when their workload's record disappears. Their wake-ups come from
 * pub/sub, and a workload whose state is gone (Redis restarted empty, flushed, the record expired)
 * publishes nothing ever again: without this, an SSE stream would send keep-alives forever and a
 * long-poll would wait its full time.
 *
 * One timer for the whole producer checks every watched workload every PRESENCE_CHECK_MS (one EXISTS
 * each, sent together), only while anything is watched. A check that fails (Redis away) says nothing:
 * the next one asks again.
 */
import type { WorkloadStore } from '../core/workload-store';

/** How often watched workloads are checked: a vanished workload's streams end within about this long. */
export const PRESENCE_CHECK_MS = 2_000;

export class WorkloadPresence {
  /** Workload id → what to call when its record is found gone. */
  private readonly watchers = new Map<string, Set<() => void>>();
  private timer?: NodeJS.Timeout;
  private checking = false;
  private closed = false;

  constructor(
    private readonly store: WorkloadStore,
    private readonly checkIntervalMs = PRESENCE_CHECK_MS,
  ) {}

  /** Calls `gone` once, when the workload's record is found missing. Returns the way to stop watching. */
  watch(id: string, gone: () => void): () => void {
    let set = this.watchers.get(id);
    if (!set) this.watchers.set(id, (set = new Set()));
    const once = (): void => {
      unwatch();
      gone();
    };
    set.add(once);
    const unwatch = (): void => {
      const current = this.watchers.get(id);
      if (current?.delete(once) && current.size === 0) this.watchers.delete(id);
      if (this.watchers.size === 0) this.stopTimer();
    };
    if (!this.timer && !this.closed) {
      this.timer = setInterval(() => void this.check(), this.checkIntervalMs);
      this.timer.unref();
    }
    return unwatch;
  }

  /** Checks every watched workload now. */
  async check(): Promise<void> {
    if (this.checking) return;
    this.checking = true;
    try {
      const ids = [...this.watchers.keys()];
      const present = await Promise.all(ids.map((id) => this.store.exists(id).catch(() => true)));
      ids.forEach((id, position) => {
        if (!present[position]) for (const gone of [...(this.watchers.get(id) ?? [])]) gone();
      });
    } finally {
      this.checking = false;
    }
  }

  private stopTimer(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  close(): void {
    this.closed = true;
    this.stopTimer();
    this.watchers.clear();
  }
}
