/**
 * Runs one compute chunk job: every unfinished item of the chunk goes to the thread pool, each outcome
 * is recorded as it arrives (exactly once, see workload-store.ts).
 *
 * Attempts: an item that fails is tried again with its chunk. While attempts remain, the chunk job
 * throws so that BullMQ retries it (the retry runs only the items still unfinished); on the last attempt
 * the failures are recorded as the items' errors and the job completes. Cancellation stops the chunk
 * quietly; shutdown hands it back to the queue untouched (no attempt is used up).
 */
import { DelayedError, type Job } from 'bullmq';
import type { Logger } from 'pino';
import { ItemError } from '../core/errors';
import type { WorkloadStore } from '../core/workload-store';
import type { ComputeChunkData, ItemOutcome } from '../core/workload';
import type { CancellationRegistry } from './cancellation-registry';
import { ItemRecorder } from './item-recorder';
import type { ThreadPool } from './thread-pool';

export interface ChunkOutcome {
  /** Items that ran in this attempt. */
  ran: number;
  /** Items that failed in this attempt. */
  failed: number;
  /** Set when the chunk did not run to its end: the workload was already final, or was cancelled. */
  stopped?: string;
}

export interface ComputeProcessorDeps {
  store: WorkloadStore;
  pool: ThreadPool;
  cancellations: CancellationRegistry;
  /** Aborts when the process is shutting down and its grace period is over. */
  shutdownSignal: AbortSignal;
  logger: Logger;
  /** Called with each item's thread time, for metrics. */
  onItemDone?: (outcome: { ok: boolean; runMs: number; task: string }) => void;
}

const range = (start: number, count: number): number[] => Array.from({ length: count }, (_, offset) => start + offset);

export function createComputeProcessor(deps: ComputeProcessorDeps) {
  return async (job: Job<ComputeChunkData>, token?: string): Promise<ChunkOutcome> => {
    const { workloadId, start, inputs, task, timeoutMs } = job.data;
    const status = await deps.store.markRunning(workloadId);
    if (deps.store.isFinal(status)) return { ran: 0, failed: 0, stopped: status };

    const unfinished = await deps.store.unfinishedIndexes(workloadId, range(start, inputs.length));
    const cancellation = deps.cancellations.register(workloadId);
    const signal = AbortSignal.any([cancellation.signal, deps.shutdownSignal]);
    const recorder = new ItemRecorder(deps.store, workloadId);
    const failures: ItemOutcome[] = [];
    try {
      await Promise.all(
        unfinished.map(async (index) => {
          try {
            const run = await deps.pool.run(task, inputs[index - start], { signal, timeoutMs });
            recorder.add({ index, ok: true, value: run.value });
            deps.onItemDone?.({ ok: true, runMs: run.runMs, task });
          } catch (error) {
            if (signal.aborted) return;
            if (!(error instanceof ItemError)) throw error;
            failures.push({ index, ok: false, code: error.code, message: error.message });
            deps.onItemDone?.({ ok: false, runMs: 0, task });
          }
        }),
      );
      await recorder.flush();
    } finally {
      cancellation.release();
    }

    if (cancellation.signal.aborted) return { ran: unfinished.length, failed: 0, stopped: 'cancelled' };
    if (deps.shutdownSignal.aborted) {
      // Hand the chunk back: it waits in the queue for another worker, its attempt not counted.
      await job.moveToDelayed(Date.now(), token);
      throw new DelayedError();
    }
    if (failures.length > 0) {
      const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      if (!lastAttempt) {
        const first = failures[0] as Extract<ItemOutcome, { ok: false }>;
        throw new Error(`${failures.length} of ${unfinished.length} items failed (first: ${first.code}: ${first.message})`);
      }
      await deps.store.recordItems(workloadId, failures);
    }
    return { ran: unfinished.length, failed: failures.length };
  };
}
