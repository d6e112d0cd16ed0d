/**
 * Runs one compute chunk job: every unfinished item of the chunk goes to the thread pool in batches
 * (item-batcher.ts), and each outcome is kept for the chunk's write (exactly once, see workload-store.ts)
 * as its batch comes back. Attempts, cancellation and shutdown are the shared chunk skeleton's
 * (chunk-run.ts): a failed item is tried again with its chunk.
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
        async runAll(indexes, signal, settle) {
          // Cache hits settle at once; the rest go to the threads, in batches.
          const toRun: number[] = [];
          for (const index of indexes) {
            const hit = cached?.hit(index - start);
            if (hit) settle(index, { value: hit.value });
            else toRun.push(index);
          }
          await batcher.runAll(
            toRun.map((index) => inputs[index - start]),
            signal,
            (position, result) => {
              const index = toRun[position];
              if ('run' in result) {
                deps.onItemDone?.({ ok: true, runMs: result.run.runMs, task, final: true });
                cached?.remember(index - start, result.run.value);
                settle(index, { value: result.run.value });
                return;
              }
              if (result.error instanceof ItemError && !signal.aborted) deps.onItemDone?.({ ok: false, runMs: 0, task, final: isLastAttempt(job) });
              settle(index, { error: result.error });
            },
          );
        },
      });
    } finally {
      await cached?.flush();
    }
  };
}
