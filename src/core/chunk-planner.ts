/**
 * How a workload is cut into chunk jobs. A chunk is the unit BullMQ delivers, retries and locks;
 * items inside a chunk run in parallel on the worker's threads (compute) or event loop (fetch).
 */

/** Aim for this many chunks when the user gives no chunkSize: enough to spread over many workers. */
export const TARGET_CHUNKS = 64;
/** ...but never chunks larger than this, so one retry never repeats too much work. */
export const MAX_DEFAULT_CHUNK_SIZE = 1000;

/**
 * The default chunk size: ceil(total / 64), between `minimum` and 1000 items. Fetch workloads pass their
 * concurrency as the minimum: their items run concurrently inside a chunk, so one chunk should be able to
 * fill the workload's concurrency (17 cities are one chunk, all 17 in flight, not 17 chunk jobs).
 */
export function defaultChunkSize(total: number, minimum = 1): number {
  return Math.min(MAX_DEFAULT_CHUNK_SIZE, Math.max(minimum, Math.ceil(total / TARGET_CHUNKS)));
}

export interface ChunkRange {
  chunkIndex: number;
  /** Index of the chunk's first item in the workload. */
  start: number;
  /** One past the chunk's last item. */
  end: number;
}

export function planChunks(total: number, chunkSize: number): ChunkRange[] {
  const chunks: ChunkRange[] = [];
  for (let start = 0, chunkIndex = 0; start < total; start += chunkSize, chunkIndex++) {
    chunks.push({ chunkIndex, start, end: Math.min(total, start + chunkSize) });
  }
  return chunks;
}
