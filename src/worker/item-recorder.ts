/**
 * Writes a chunk's finished items to the workload store as they come in, in group commits: while one
 * write is in flight, the next items gather, and go together in the next write. Progress thus moves
 * item by item when items are slow, and costs few round trips when they are fast.
 */
import type { WorkloadStore } from '../core/workload-store';
import type { ItemOutcome } from '../core/workload';

/** Items per write at most (each is one HSET inside the recording script). */
const MAX_BATCH = 500;

export class ItemRecorder {
  private readonly buffer: ItemOutcome[] = [];
  private writing?: Promise<void>;
  private failure?: unknown;

  constructor(
    private readonly store: WorkloadStore,
    private readonly workloadId: string,
  ) {}

  add(outcome: ItemOutcome): void {
    this.buffer.push(outcome);
    this.writing ??= this.drain();
  }

  /** Waits until everything added so far is written; throws if a write failed. */
  async flush(): Promise<void> {
    while (this.writing) await this.writing;
    if (this.failure) throw this.failure;
  }

  private async drain(): Promise<void> {
    try {
      while (this.buffer.length > 0) {
        await this.store.recordItems(this.workloadId, this.buffer.splice(0, MAX_BATCH));
      }
    } catch (error) {
      this.failure = error;
      this.buffer.length = 0;
    } finally {
      this.writing = undefined;
    }
  }
}
