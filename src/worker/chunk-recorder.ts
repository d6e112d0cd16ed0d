/**
 * Writes one chunk attempt's item outcomes to the workload store, packed into one text per chunk
 * (core/results-packing.ts). A chunk that runs through quickly is one write, sent as it ends; a chunk
 * that runs longer also writes what has finished every PROGRESS_MS, so that its workload's progress (and
 * its event stream) moves while it runs. Each write fills only the items that have no outcome yet.
 *
 * The last write is sent by `finish`; whether the chunk then waits for its answer before BullMQ completes
 * the job is RecordingOrder's decision (recording-order.ts). A failed progress write fails `finish` too:
 * the chunk then fails, and its items run again (those recorded are skipped).
 */
import type { ChunkPosition } from '../core/results-packing';
import type { RecordChunkAnswer } from '../core/redis/workload-scripts';
import type { WorkloadStore } from '../core/workload-store';
import type { ItemOutcome } from '../core/workload';

/** How often a long chunk writes the outcomes it has so far. */
const PROGRESS_MS = 100;

export class ChunkRecorder {
  private pending: ItemOutcome[] = [];
  private timer?: NodeJS.Timeout;
  private readonly progressWrites: Array<Promise<RecordChunkAnswer>> = [];
  private finished = false;

  constructor(
    private readonly store: WorkloadStore,
    private readonly workloadId: string,
    private readonly chunk: ChunkPosition,
  ) {}

  /** Keeps an item's outcome for the chunk's next write (after `finish`, an item of a failed run: dropped). */
  add(outcome: ItemOutcome): void {
    if (this.finished) return;
    this.pending.push(outcome);
    this.timer ??= setTimeout(() => this.writeProgress(), PROGRESS_MS);
  }

  /**
   * Sends what has not been written yet, now, and stops the progress writes. Answers once every write of
   * the chunk has been answered; rejects with the first that failed.
   */
  finish(): Promise<unknown> {
    this.stop();
    this.finished = true;
    const writes = this.progressWrites.splice(0);
    if (this.pending.length > 0) writes.push(this.write());
    return Promise.all(writes);
  }

  /** Stops the progress writes (what is pending is written only by `finish`). */
  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private writeProgress(): void {
    this.timer = undefined;
    const written = this.write();
    // Awaited by `finish`; this keeps a failure from being unhandled meanwhile.
    written.catch(() => undefined);
    this.progressWrites.push(written);
  }

  private write(): Promise<RecordChunkAnswer> {
    const outcomes = this.pending;
    this.pending = [];
    return this.store.recordChunk(this.workloadId, this.chunk, outcomes);
  }
}
