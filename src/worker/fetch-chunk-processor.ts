/**
 * Runs one fetch chunk job on this process's event loop (never on the compute threads): every unfinished
 * request of the chunk is started at once and waits for its slots — the origin's `perHostConcurrency`
 * in this process (origin-limiter.ts), then the workload's `concurrency` across every process (Redis
 * leases, workload-slots.ts), both held by the workload's session with its agent (workload-session.ts).
 * The origin slot is taken first: waiting for a workload-wide slot while holding an origin slot costs
 * nobody else anything, the other way round would idle a scarce global slot.
 * Attempts, cancellation and shutdown are the shared chunk skeleton's (chunk-run.ts). The requests'
 * headers are not in the job: they are read from the workload's own hash first (core/request-headers.ts).
 */
import type { Job } from 'bullmq';
import { ItemError, ItemErrorCode } from '../core/errors';
import { headerRefs, parseHeaderSets, withHeaders } from '../core/request-headers';
import type { Attributes } from '@opentelemetry/api';
import type { FetchChunkData, FetchItemResult, FetchRequestRef } from '../core/workload';
import { isLastAttempt, runChunk, type ChunkOutcome, type ChunkRunDeps } from './chunk-run';
import { isPermanentFetchError, type HttpFetcher, type SlotGate } from './http-fetcher';

export interface FetchProcessorDeps extends ChunkRunDeps {
  fetcher: HttpFetcher;
  /** Called when an item ends (`final` false: its chunk runs it again), for metrics. */
  onItemDone?: (item: { ok: boolean; runMs: number; task: 'fetch'; final: boolean }) => void;
}

export function createFetchProcessor(deps: FetchProcessorDeps) {
  return async (job: Job<FetchChunkData>, token?: string): Promise<ChunkOutcome> => {
    const { workloadId, start, requests, fetch: options } = job.data;
    const lastAttempt = isLastAttempt(job);
    const headerSets = parseHeaderSets(await deps.store.requestHeaderSets(workloadId, headerRefs(requests)));
    const session = deps.sessions.retain(workloadId);
    const { agent, origins, leases } = session.fetching(options);
    const gate: SlotGate = async (origin, signal) => {
      const releaseOrigin = await origins.acquire(origin, signal);
      try {
        const releaseSlot = await leases.acquire(signal);
        return () => {
          releaseSlot();
          releaseOrigin();
        };
      } catch (error) {
        releaseOrigin();
        throw error;
      }
    };
    try {
      return await runChunk(job, token, deps, {
        async run(index, signal) {
          const started = performance.now();
          try {
            const spec = withHeaders(requests[index - start], headerSets);
            if (!spec)
              throw new ItemError(ItemErrorCode.FETCH_REFUSED, 'The request headers of this item are no longer stored (the workload ended or expired).');
            const result = await deps.fetcher.fetch(agent, spec, options, signal, gate);
            deps.onItemDone?.({ ok: true, runMs: performance.now() - started, task: 'fetch', final: true });
            return result;
          } catch (error) {
            if (error instanceof ItemError && !signal.aborted) {
              deps.onItemDone?.({ ok: false, runMs: performance.now() - started, task: 'fetch', final: lastAttempt || isPermanentFetchError(error) });
            }
            throw error;
          }
        },
        isPermanent: isPermanentFetchError,
        describe: (index, value) => fetchSpanAttributes(requests[index - start], value as FetchItemResult | undefined),
      });
    } finally {
      session.release();
    }
  };
}

/** A request's span attributes (tracing on only): its method and origin host (not its URL, whose query may hold a key), then its answer. */
function fetchSpanAttributes(request: FetchRequestRef, result: FetchItemResult | undefined): Attributes {
  if (result) return { 'http.response.status_code': result.status, 'chunkmill.fetch.bytes': result.bytes, 'chunkmill.fetch.ms': result.ms };
  const attributes: Attributes = { 'http.request.method': request.method ?? 'GET' };
  try {
    const url = new URL(request.url);
    attributes['server.address'] = url.hostname;
    attributes['server.port'] = Number(url.port) || (url.protocol === 'https:' ? 443 : 80);
  } catch {}
  return attributes;
}
