/**
 * The public types of a workload and its chunk jobs.
 *
 * A workload's life, and who moves it:
 *
 *   queued ──(a worker starts one of its chunks)──▶ running ──(every item finished)──▶ completed | failed
 *   queued | running ──(DELETE /v1/workloads/:id)──▶ cancelled
 *
 * `completed` means every item succeeded; `failed` means every item finished and at least one failed for
 * good. completed, failed and cancelled are final: a stale or late chunk can no longer change them.
 * Every transition happens inside one Lua script in workload-store.ts, so two workers (or a worker and a
 * DELETE) racing each other always leave one consistent answer.
 */
import type { TraceCarrier } from './tracing';
import type { ArrayBindings, ReduceOperation, WorkloadStatus, WorkloadType, WorkloadView } from '../contract';

// The views the API answers are the contract's (src/contract/workload-answers.ts).
export {
  WORKLOAD_STATUSES,
  type FetchItemResult,
  type ItemErrorView,
  type WorkloadResults,
  type WorkloadStatus,
  type WorkloadType,
  type WorkloadView,
} from '../contract';

export const FINAL_STATUSES: ReadonlySet<WorkloadStatus> = new Set(['completed', 'failed', 'cancelled']);

/** A workload as stored in Redis (times in ms since the epoch). */
export interface WorkloadRecord {
  id: string;
  type: WorkloadType;
  /** The compute task's name; absent for fetch workloads. */
  task?: string;
  status: WorkloadStatus;
  total: number;
  completed: number;
  failed: number;
  chunks: number;
  chunkSize: number;
  attempts: number;
  priority: number;
  timeoutMs?: number;
  reduce?: ReduceOperation;
  createdAt: number;
  startedAt?: number;
  finishedAt?: number;
  /** When the submission was whole (its record and first jobs written): see WorkloadStore.markAccepted. */
  acceptedAt?: number;
  /** The tenant that submitted it (a name or a token digest, never a token); absent: the open tenant. */
  tenant?: string;
}

/** One finished item, on its way from a worker into the workload's results. */
export type ItemOutcome = { index: number; ok: true; value: unknown } | { index: number; ok: false; code: string; message: string };

/** What a compute chunk job carries: the items themselves, so a worker needs nothing else to run it. */
export interface ComputeChunkData {
  workloadId: string;
  type: 'compute';
  chunkIndex: number;
  /** Index of `inputs[0]` in the workload. */
  start: number;
  task: string;
  /** The items' inputs; for an array workload, each item's element range `{start, end}` (end excluded). */
  inputs: unknown[];
  timeoutMs?: number;
  /** Set for an array workload (see array-tasks.ts): the arrays its items read and write. */
  arrays?: ArrayBindings;
  /** An array workload's length in elements (every array it names has this length). */
  arrayLength?: number;
  /** Items are answered from the result cache when computed before (`"cache": true`, deterministic tasks only). */
  cache?: boolean;
  /** The workload is fed through a window (chunk-feeder.ts): the worker reports the chunk's end. */
  windowed?: boolean;
  /** The workload's trace context (W3C), only when the producer traces (core/tracing.ts). */
  trace?: TraceCarrier;
}

/** One item of an array workload: elements [start, end) of its arrays. */
export interface ElementRange {
  start: number;
  end: number;
}

/** One fetch item: what to request. A `urls` submission becomes GETs. */
export interface FetchRequestSpec {
  url: string;
  /** @defaultValue 'GET' */
  method?: string;
  headers?: Record<string, string>;
  body?: string;
}

/**
 * A fetch item as its chunk job carries it: its headers (which may hold credentials) are not in the job
 * but in the workload's `requestHeaders` hash, as header set number `headersRef` (requests with the same
 * headers share one set).
 */
export interface FetchRequestRef extends Omit<FetchRequestSpec, 'headers'> {
  headersRef?: number;
}

/** How a fetch workload's requests are made; every default is filled in by the producer. */
export interface FetchOptions {
  /** Dotted path into a JSON body (`main.temp`); without it the whole body is the value. */
  extract?: string;
  /** Requests in flight for the whole workload, across every worker process and host. */
  concurrency: number;
  /** Requests in flight to one origin from one worker process. */
  perHostConcurrency: number;
  /** Per request attempt, headers and body included. */
  timeoutMs: number;
  /** Retries of one request (network error, timeout, 5xx, 429), inside one chunk run. */
  retries: number;
  maxResponseBytes: number;
}

/** What a fetch chunk job carries. */
export interface FetchChunkData {
  workloadId: string;
  type: 'fetch';
  chunkIndex: number;
  /** Index of `requests[0]` in the workload. */
  start: number;
  requests: FetchRequestRef[];
  fetch: FetchOptions;
  /** The workload is fed through a window (chunk-feeder.ts): the worker reports the chunk's end. */
  windowed?: boolean;
  /** The workload's trace context (W3C), only when the producer traces (core/tracing.ts). */
  trace?: TraceCarrier;
}

export type ChunkJobData = ComputeChunkData | FetchChunkData;

/** How many items a chunk job holds, whatever its type. */
export function chunkItemCount(data: ChunkJobData): number {
  return data.type === 'compute' ? data.inputs.length : data.requests.length;
}

export function chunkJobId(workloadId: string, chunkIndex: number): string {
  return `${workloadId}-${chunkIndex}`;
}

const iso = (ms: number | undefined): string | null => (ms === undefined ? null : new Date(ms).toISOString());

export function toWorkloadView(record: WorkloadRecord, now = Date.now()): WorkloadView {
  const durationMs = record.startedAt === undefined ? null : (record.finishedAt ?? now) - record.startedAt;
  return {
    id: record.id,
    type: record.type,
    task: record.task ?? null,
    status: record.status,
    total: record.total,
    completed: record.completed,
    failed: record.failed,
    chunks: record.chunks,
    createdAt: iso(record.createdAt)!,
    startedAt: iso(record.startedAt),
    finishedAt: iso(record.finishedAt),
    durationMs,
  };
}
