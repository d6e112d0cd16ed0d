/** What the HTTP API sends and answers, as the SDK sees it. */

export type WorkloadStatus = 'queued' | 'running' | 'completed' | 'failed' | 'cancelled';

/** A workload as the HTTP API shows it. */
export interface WorkloadView {
  id: string;
  type: 'compute' | 'fetch';
  task: string | null;
  status: WorkloadStatus;
  total: number;
  completed: number;
  failed: number;
  chunks: number;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  durationMs: number | null;
}

export interface ItemErrorView {
  index: number;
  code: string;
  message: string;
}

export type ReduceOperation = 'sum' | 'min' | 'max' | 'count';

/** Options every submission may carry. */
export interface WorkloadOptions {
  /** Items per chunk job. @defaultValue chosen by the SDK, see chunk-size.ts */
  chunkSize?: number;
  /** How many times a chunk may run. @defaultValue 3 (the server's) */
  attempts?: number;
  /** Per item, in milliseconds. @defaultValue none */
  timeoutMs?: number;
  /** 1 (most urgent) to 100. @defaultValue 50 (the server's) */
  priority?: number;
}

export interface ComputeSubmission extends WorkloadOptions {
  type: 'compute';
  task: string;
  inputs: unknown[];
  reduce?: ReduceOperation;
}

/** One request of a fetch workload, when a bare URL is not enough. */
export interface FetchRequest {
  url: string;
  /** @defaultValue `'GET'` */
  method?: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'OPTIONS';
  headers?: Record<string, string>;
  /** A string is sent as is; any other JSON value as JSON. */
  body?: unknown;
}

export interface FetchSubmission extends WorkloadOptions {
  type: 'fetch';
  urls?: string[];
  requests?: FetchRequest[];
  extract?: string;
  concurrency?: number;
  perHostConcurrency?: number;
  retries?: number;
  maxResponseBytes?: number;
}

/** A compute workload over named arrays (`PUT /v1/arrays/:name` first): items are element ranges. */
export interface ArrayComputeSubmission extends WorkloadOptions {
  type: 'compute';
  /** `mulArrays` (x, y, out), `dot` (x, y) or `sumArray` (x). */
  task: 'mulArrays' | 'dot' | 'sumArray';
  arrays: { x: string; y?: string; out?: string };
  /** Elements per item. @defaultValue 1048576 (the server's) */
  elementsPerItem?: number;
  reduce?: ReduceOperation;
}

/** What `PUT /v1/arrays/:name` answers. */
export interface StoredArray {
  name: string;
  /** Elements (Float64). */
  length: number;
  bytes: number;
  expiresAt: string;
}

export type Submission = ComputeSubmission | ArrayComputeSubmission | FetchSubmission;

export interface SubmitAnswer {
  id: string;
  status: WorkloadStatus;
  total: number;
  chunks: number;
}

export interface ResultsAnswer<Output = unknown> {
  id: string;
  status: WorkloadStatus;
  /** The workload's item count (`results` may hold fewer: a page). */
  total: number;
  /** `results[i]` answers item `offset + i`. */
  offset: number;
  results: Array<Output | null>;
  errors: ItemErrorView[];
  reduced: number | string | null;
}

/** The first line of a results stream (`Accept: application/x-ndjson`): the workload when the stream began. */
export interface ResultsStreamHead {
  id: string;
  status: WorkloadStatus;
  total: number;
  completed: number;
  failed: number;
}

/** One item of a results stream: its value, `null` with `error` for a failed item, `null` alone for one not finished. */
export interface ResultEntry<Output = unknown> {
  index: number;
  value: Output | null;
  error?: { code: string; message: string };
}

/** The result of one fetch item. */
export interface FetchResult<Value = unknown> {
  url: string;
  status: number;
  ok: boolean;
  ms: number;
  bytes: number;
  value: Value;
}

export interface TaskInfo {
  name: string;
  description: string;
  /** JSON Schema of one input. */
  input: unknown;
  output: 'integer' | 'number' | 'other';
  deterministic: boolean;
}

/** One live worker host, as `GET /v1/workers` lists it. */
export interface WorkerInfo {
  /** `WORKER_ID` (by default the hostname). */
  id: string;
  hostname: string;
  pid: number;
  queues: Array<'compute' | 'fetch'>;
  processes: number;
  /** Compute threads per process. */
  threads: number;
  /** Chunks a process holds at once, per queue. */
  concurrency: { compute: number; fetch: number };
  /** Chunks running on the host at its last heartbeat. */
  activeChunks: { compute: number; fetch: number };
  startedAt: number;
  lastSeenAt: number;
  /** Gone from the list if no heartbeat by then (ms since epoch). */
  expiresAt: number;
}

export interface ProgressData {
  status: WorkloadStatus;
  completed: number;
  failed: number;
  total: number;
}

/** One event of `GET /v1/workloads/:id/events`. */
export type WorkloadEvent =
  | { type: 'progress'; data: ProgressData }
  | { type: 'result'; data: { index: number; value: unknown; error?: { code: string; message: string } } }
  | { type: 'done'; data: ProgressData };
