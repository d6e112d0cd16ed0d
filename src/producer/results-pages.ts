/**
 * How the producer reads a range of a workload's results without one giant read: in pages of about
 * RESULTS_PAGE_ITEMS items, each ending at a chunk boundary, so that a chunk's stored text (one Redis
 * field, core/results-packing.ts) is fetched once per range and a page never holds more than
 * RESULTS_PAGE_ITEMS items plus one chunk.
 */
import type { WorkloadRecord } from '../core/workload';

/** Items per page at least (fewer for the range's last page). */
export const RESULTS_PAGE_ITEMS = 10_000;

/** The pages `[from, to)` of items `[start, end)` of a workload, in index order. */
export function* resultPages(record: Pick<WorkloadRecord, 'chunkSize'>, start: number, end: number): Generator<{ from: number; to: number }> {
  for (let from = start; from < end; ) {
    const wanted = from + RESULTS_PAGE_ITEMS;
    // Up to the end of the chunk that holds the page's last item.
    const to = Math.min(end, Math.ceil(wanted / record.chunkSize) * record.chunkSize);
    yield { from, to };
    from = to;
  }
}

/** The end (exclusive) of items `[offset, offset + limit)` clipped to the workload's total; `offset` when past it. */
export function rangeEnd(total: number, offset: number, limit: number | undefined): number {
  return Math.max(offset, Math.min(total, limit === undefined ? total : offset + limit));
}
