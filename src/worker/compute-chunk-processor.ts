/**
 * Runs one compute chunk job: every unfinished item of the chunk goes to the thread pool (in batches,
 * see item-batcher.ts), each outcome is recorded as it arrives (exactly once, see workload-store.ts). Attempts, cancellation and shutdown
 * are the shared chunk skeleton's (chunk-run.ts): a failed item is tried again with its chunk.
 */
import type { Job } from 'bullmq';
import type { Logger } from 'pino';
import { ItemError } from '../core/errors';
import type { ComputeChunkData } from '../core/workload';
import type { ResultCache } from '../core/result-cache';
import { CachedItems, type CacheLookupCounts } from './cached-items';
import { isLastAttempt, runChunk, type ChunkOutcome, type ChunkRunDeps } from './chunk-run';
import type { ArrayItemRunners } from './array-item-runner';
import { ItemBatcher } from './item-batcher';
import type { ThreadPool } from './thread-pool';

export type { ChunkOutcome } from './chunk-run';

export interface ComputeProcessorDeps extends ChunkRunDeps {
  pool: ThreadPool;
  logger: Logger;
  /**
   * Called with each item's thread time, for metrics. `final` is false for a failure that the chunk's
   * next attempt runs again.
   */
  onItemDone?: (outcome: { ok: boolean; runMs: number; task: string; final: boolean }) => void;
  /** Runs the items of array workloads (chunks with `arrays`). */
  arrays?: ArrayItemRunners;
  /** The result cache for workloads that ask for it (`"cache": true`). @defaultValue none: items always run */
  cache?: ResultCache;
  /** Called with each cache lookup's hits and misses, for metrics. */
  onCacheLookup?: (counts: CacheLookupCounts) => void;
}

export function createComputeProcessor(deps: ComputeProcessorDeps) {
  return async (job: Job<ComputeChunkData>, token?: string): Promise<ChunkOutcome> => {
    const { start, inputs, task, timeoutMs } = job.data;
    if (job.data.arrays && deps.arrays) {
      const runner = deps.arrays.forChunk(job.data, (run) => deps.onItemDone?.({ ok: true, runMs: run.runMs, task, final: true }));
      return runChunk(job, token, deps, runner);
    }
    const batcher = new ItemBatcher(deps.pool, task, timeoutMs);
    // Result cache (opt-in per workload): a hit is recorded like any result, without a thread run.
    const cached = job.data.cache && deps.cache ? await CachedItems.load(deps.cache, task, inputs, deps.logger, deps.onCacheLookup) : undefined;
    try {
      return await runChunk(job, token, deps, {
        async run(index, signal) {
          const hit = cached?.hit(index - start);
          if (hit) return hit.value;
          try {
            const run = await batcher.run(inputs[index - start], signal);
            deps.onItemDone?.({ ok: true, runMs: run.runMs, task, final: true });
            cached?.remember(index - start, run.value);
            return run.value;
          } catch (error) {
            if (error instanceof ItemError && !signal.aborted) deps.onItemDone?.({ ok: false, runMs: 0, task, final: isLastAttempt(job) });
            throw error;
          }
        },
      });
    } finally {
      await cached?.flush();
    }
  };
}
