/**
 * The SDK's automatic `chunkSize`, used when a call does not give one.
 *
 * Rule: `ceil(total / (parallelism × CHUNKS_PER_THREAD))`, between 1 and MAX_AUTO_CHUNK_SIZE items.
 * A few chunks per compute thread of the cluster (`parallelism`, a Pool option) keeps every thread
 * busy to the end even when chunks take uneven time, while chunks stay large enough that per-job
 * overhead (a Redis round trip or two) is small next to the work. With the default parallelism of 16
 * this equals the server's own default, `ceil(total / 64)` capped at 1000.
 *
 * Fetch workloads use the same rule: their `concurrency` is enforced for the whole workload across
 * every worker, so chunks only need to be numerous enough to spread over the worker processes.
 */

/** Chunks aimed for per compute thread. */
export const CHUNKS_PER_THREAD = 4;
/** Largest automatic chunk: one retry never repeats more than this many items. */
export const MAX_AUTO_CHUNK_SIZE = 1000;

export function autoChunkSize(total: number, parallelism: number): number {
  const spread = Math.ceil(total / (Math.max(1, parallelism) * CHUNKS_PER_THREAD));
  return Math.min(MAX_AUTO_CHUNK_SIZE, Math.max(1, spread));
}
