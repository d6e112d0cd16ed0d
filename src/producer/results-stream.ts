/**
 * `GET /v1/workloads/:id/results` with `Accept: application/x-ndjson`: the results as NDJSON, one JSON
 * text per line, so that a workload of millions of items is never one body in memory, here or in the client.
 *
 *   {"id","status","total","completed","failed"}          first, the workload as it is when the stream starts
 *   {"index":i,"value":<JSON>}                             a result
 *   {"index":i,"value":null,"error":{"code","message"}}    a failed item
 *   {"index":i,"value":null}                               an item without an outcome yet
 *
 * Every item of `[offset, offset + limit)` (clipped to the total) has its line, in index order, so a client
 * knows it has them all by counting. Values are written as the workers stored them (never parsed here).
 * The items are read a page at a time (results-pages.ts) and the next page is read only once the client
 * took the last one (the socket drained): memory stays at about one page whatever the workload's size.
 *
 * Once the first line is out the status code is sent: a failure after it (the workload's record vanished,
 * Redis failed) is a last line `{"error":{"code","message","details"}}`, the error envelope a request would
 * have answered (WORKLOAD_LOST, NOT_FOUND, REDIS_UNAVAILABLE, INTERNAL_ERROR), and the stream ends.
 */
import type { Response } from 'express';
import { toChunkmillError } from '../core/error-handler';
import { ChunkmillError, errorEnvelope } from '../core/errors';
import type { WorkloadRecord } from '../core/workload';
import type { WorkloadStore } from '../core/workload-store';
import { rangeEnd, resultPages } from './results-pages';
import type { ResultsRange } from './workload-service';

export const NDJSON = 'application/x-ndjson';

export interface ResultsStreamDeps {
  store: WorkloadStore;
  /** Why a workload has no record (any more): the error to stream. */
  explainMissing(id: string, createdAt?: number): Promise<ChunkmillError>;
}

/** Waits until `res` takes writes again, or the client went away. */
export function drained(res: Response): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

/** The lines of items `[from, to)`, read from the store; items without an outcome get a line all the same. */
async function pageLines(store: WorkloadStore, record: WorkloadRecord, from: number, to: number): Promise<string> {
  const lines: string[] = [];
  let next = from;
  const pending = (until: number): void => {
    for (; next < until; next++) lines.push(`{"index":${next},"value":null}\n`);
  };
  await store.forEachOutcome(
    record,
    (index, slot) => {
      pending(index);
      lines.push(slot.kind === 'ok' ? `{"index":${index},"value":${slot.json}}\n` : `${JSON.stringify({ index, value: null, error: slot.error })}\n`);
      next = index + 1;
    },
    from,
    to,
  );
  pending(to);
  return lines.join('');
}

/**
 * Streams the results of `record` in `range`. Resolves when the stream ended (or the client left). A
 * failure after the first line is streamed as the last line, then rethrown for the error handler to log
 * (the answer is already ended: the handler only sees that).
 */
export async function streamResults(res: Response, record: WorkloadRecord, range: ResultsRange, deps: ResultsStreamDeps): Promise<void> {
  let gone = false;
  res.on('close', () => (gone = true));
  res.status(200).set({ 'Content-Type': `${NDJSON}; charset=utf-8`, 'Cache-Control': 'no-cache, no-transform', 'X-Accel-Buffering': 'no' });
  const { id, status, total, completed, failed } = record;
  res.write(`${JSON.stringify({ id, status, total, completed, failed })}\n`);
  try {
    for (const { from, to } of resultPages(record, range.offset, rangeEnd(total, range.offset, range.limit))) {
      if (gone) return;
      const lines = await pageLines(deps.store, record, from, to);
      // A record gone meanwhile leaves the page's items without outcomes: not a page to send.
      if (!(await deps.store.exists(id))) {
        res.end(`${JSON.stringify(errorEnvelope(await deps.explainMissing(id, record.createdAt)))}\n`);
        return;
      }
      if (!res.write(lines)) await drained(res);
    }
    res.end();
  } catch (error) {
    const known = toChunkmillError(error);
    res.end(`${JSON.stringify(errorEnvelope(known ?? new ChunkmillError('INTERNAL_ERROR', 'Something went wrong on our side.', 500)))}\n`);
    throw error;
  }
}
