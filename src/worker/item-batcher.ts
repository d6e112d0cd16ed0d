/**
 * Sends a chunk's items to the thread pool in batches rather than one message per item: for tiny items
 * the message round trip to a thread costs more than the work, so items that arrive together (a chunk
 * starts all its items in the same tick) are grouped, about four batches per thread so that every
 * thread gets a share and progress still moves batch by batch. An item with a timeout goes alone, so
 * that stopping it (by terminating its thread) stops nothing else.
 */
import { ItemError } from '../core/errors';
import type { ItemRun, ThreadPool } from './thread-pool';

/** Batches per thread, so that the threads share a chunk's items and finish near each other. */
const BATCHES_PER_THREAD = 4;
/** Items per batch at most, so that results keep flowing for big chunks. */
const MAX_BATCH = 256;

interface Pending {
  input: unknown;
  signal: AbortSignal;
  resolve(run: ItemRun): void;
  reject(error: unknown): void;
}

export class ItemBatcher {
  private pending: Pending[] = [];

  constructor(
    private readonly pool: ThreadPool,
    private readonly task: string,
    private readonly timeoutMs: number | undefined,
  ) {}

  /** Runs one item; it is sent to a thread with the others asked for in the same tick. */
  run(input: unknown, signal: AbortSignal): Promise<ItemRun> {
    return new Promise((resolve, reject) => {
      if (this.pending.length === 0) queueMicrotask(() => this.dispatch());
      this.pending.push({ input, signal, resolve, reject });
    });
  }

  private dispatch(): void {
    const items = this.pending;
    this.pending = [];
    const size =
      this.timeoutMs === undefined ? Math.min(MAX_BATCH, Math.max(1, Math.ceil(items.length / (this.pool.threads * BATCHES_PER_THREAD)))) : 1;
    for (let first = 0; first < items.length; first += size) void this.runBatch(items.slice(first, first + size));
  }

  private async runBatch(batch: Pending[]): Promise<void> {
    try {
      // The items of one chunk share one signal (its cancellation and shutdown).
      const outcomes = await this.pool.runBatch(this.task, batch.map((item) => item.input), { signal: batch[0].signal, timeoutMs: this.timeoutMs });
      outcomes.forEach((outcome, position) => {
        if (outcome instanceof ItemError) batch[position].reject(outcome);
        else batch[position].resolve(outcome);
      });
    } catch (error) {
      for (const item of batch) item.reject(error);
    }
  }
}
