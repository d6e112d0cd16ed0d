/**
 * Sends a chunk's items to the thread pool in batches rather than one message per item: for tiny items
 * the message round trip to a thread costs more than the work. A chunk's items are split into about four
 * batches per thread, so that every thread gets a share and progress still moves batch by batch. An
 * item with a timeout goes alone, so that stopping it (by terminating its thread) stops nothing else.
 */
import { ItemError } from '../core/errors';
import type { ItemRun, ThreadPool } from './thread-pool';

/** Batches per thread, so that the threads share a chunk's items and finish near each other. */
const BATCHES_PER_THREAD = 4;
/** Items per batch at most, so that results keep flowing for big chunks. */
const MAX_BATCH = 256;

/** One item's end: its run, or what stopped it (an ItemError fails the item). */
export type BatchedItemResult = { run: ItemRun } | { error: unknown };

export class ItemBatcher {
  constructor(
    private readonly pool: ThreadPool,
    private readonly task: string,
    private readonly timeoutMs: number | undefined,
  ) {}

  /**
   * Runs every input, calling `onResult(position, result)` once per input as its batch comes back;
   * answers when all have. The items share one signal (their chunk's cancellation and shutdown).
   */
  async runAll(inputs: unknown[], signal: AbortSignal, onResult: (position: number, result: BatchedItemResult) => void): Promise<void> {
    const size = this.timeoutMs === undefined ? Math.min(MAX_BATCH, Math.max(1, Math.ceil(inputs.length / (this.pool.threads * BATCHES_PER_THREAD)))) : 1;
    const batches: Array<Promise<void>> = [];
    for (let first = 0; first < inputs.length; first += size) batches.push(this.runBatch(inputs.slice(first, first + size), first, signal, onResult));
    await Promise.all(batches);
  }

  private async runBatch(
    inputs: unknown[],
    first: number,
    signal: AbortSignal,
    onResult: (position: number, result: BatchedItemResult) => void,
  ): Promise<void> {
    let outcomes: Array<ItemRun | ItemError>;
    try {
      outcomes = await this.pool.runBatch(this.task, inputs, { signal, timeoutMs: this.timeoutMs });
    } catch (error) {
      for (let offset = 0; offset < inputs.length; offset++) onResult(first + offset, { error });
      return;
    }
    outcomes.forEach((outcome, offset) => onResult(first + offset, outcome instanceof ItemError ? { error: outcome } : { run: outcome }));
  }
}
