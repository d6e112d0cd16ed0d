/**
 * How a workload is cut into chunk jobs. A chunk is the unit BullMQ delivers, retries and locks;
 * items inside a chunk run in parallel on the worker's threads (compute) or event loop (fetch).
 */

/** Aim for this many chunks when the user gives no chunkSize: enough to spread over many workers. */
export const TARGET_CHUNKS = 64;
/** ...but never chunks larger than this, so one retry never repeats too much work. */
export const MAX_DEFAULT_CHUNK_SIZE = 1000;

/** The default chunk size: ceil(total / 64), between 1 and 1000 items. */
export function defaultChunkSize(total: number): number {
  return Math.min(MAX_DEFAULT_CHUNK_SIZE, Math.max(1, Math.ceil(total / TARGET_CHUNKS)));
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
