/**
 * Writes a chunk's finished items to the workload store as they come in, in group commits: the first
 * item of a group waits LINGER_MS for the others, and while one write is in flight the next items
 * gather for the write after it. Progress thus moves every few milliseconds when items are slow, and
 * costs few round trips when they are fast. The linger matters for fetch: the answers of a round of
 * requests land within a few milliseconds of each other, each one a separate event; writing at the first
 * of them put a Redis call (a socket write, and a script run on the Redis that shares the cores) in the
 * middle of the burst, ahead of the next requests waiting to be sent. `flush` writes at once, so a chunk
 * (and a workload's last item) is never held back by the linger.
 */
import type { WorkloadStore } from '../core/workload-store';
import type { ItemOutcome } from '../core/workload';

/** Items per write at most (each is one HSET inside the recording script). */
const MAX_BATCH = 500;
/** How long the first item of a group waits for others before they are written together. */
const LINGER_MS = 5;

export class ItemRecorder {
  private readonly buffer: ItemOutcome[] = [];
  private writing?: Promise<void>;
  private lingering?: NodeJS.Timeout;
  private failure?: unknown;

  constructor(
    private readonly store: WorkloadStore,
    private readonly workloadId: string,
  ) {}

  add(outcome: ItemOutcome): void {
    this.buffer.push(outcome);
    this.schedule();
  }

  /** Waits until everything added so far is written; throws if a write failed. */
  async flush(): Promise<void> {
    for (;;) {
      if (this.lingering) {
        clearTimeout(this.lingering);
        this.lingering = undefined;
        this.writing = this.write();
      }
      if (!this.writing) break;
      await this.writing;
    }
    if (this.failure) throw this.failure;
  }

  /** Starts the linger for the items waiting, unless a write or a linger is already under way. */
  private schedule(): void {
    if (this.writing || this.lingering || this.buffer.length === 0 || this.failure) return;
    this.lingering = setTimeout(() => {
      this.lingering = undefined;
      this.writing = this.write();
    }, LINGER_MS);
  }

  /** One write of what has gathered; items that come in meanwhile wait for a linger of their own. */
  private async write(): Promise<void> {
    try {
      await this.store.recordItems(this.workloadId, this.buffer.splice(0, MAX_BATCH));
    } catch (error) {
      this.failure = error;
      this.buffer.length = 0;
    } finally {
      this.writing = undefined;
      this.schedule();
    }
  }
}
