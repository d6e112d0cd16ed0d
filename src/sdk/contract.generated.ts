/**
 * GENERATED from the API contract (src/contract) by `npm run contract`: do not edit by hand.
 * The types of what the chunkmill API accepts and answers; src/sdk/api-types.ts gives them the SDK's names.
 */

/**
 * A workload: compute or fetch
 */
export type WorkloadSubmission = ComputeSubmission | FetchSubmission;
/**
 * Combine every result into `reduced`: exact for integers (beyond 2^53 as decimal strings); `count` counts
 * the successful items
 */
export type ReduceOperation = 'sum' | 'min' | 'max' | 'count';
/**
 * queued → running → completed (every item succeeded) | failed (some item failed for good); queued | running
 * → cancelled
 */
export type WorkloadStatus = 'queued' | 'running' | 'completed' | 'failed' | 'cancelled';
/**
 * One line of the NDJSON results stream (the schema applies to each line, not to the whole body)
 */
export type ResultsLine =
  | ResultsHead
  | ResultItem
  | FailedItem
  | {
      error: {
        /**
         * A stable upper-case code, e.g. VALIDATION_FAILED
         */
        code: string;
        /**
         * What went wrong, for a person
         */
        message: string;
        /**
         * More about it: for VALIDATION_FAILED `{path, message}` per problem; for WORKLOAD_LOST `{id}`
         */
        details: unknown[];
      };
    };
/**
 * A finished item
 */
export type ResultEvent = ResultItem | FailedItem;

/**
 * A compute workload: a task run over each input (or over element ranges of named arrays)
 */
export interface ComputeSubmission {
  type: 'compute';
  /**
   * The compute task (`GET /v1/tasks`)
   */
  task: string;
  /**
   * The items: one input each, valid for the task's input schema. Give `inputs` or `arrays`
   */
  inputs?: unknown[];
  arrays?: ArrayBindings;
  /**
   * Array workloads: elements per item. Default 1048576
   */
  elementsPerItem?: number;
  reduce?: ReduceOperation;
  /**
   * Answer items computed before (same task, same input, within CACHE_TTL_SECONDS) from the result cache;
   * deterministic tasks and `inputs` only
   */
  cache?: boolean;
  /**
   * Items per chunk job (the unit a worker takes, retries and locks). Default: the server's rule, ceil(items /
   * 64) between 1 and 1000 items (fetch: at least `concurrency`, so one chunk can fill it)
   */
  chunkSize?: number;
  /**
   * How many times a chunk may run (a crashed worker, a failed item). Default 3
   */
  attempts?: number;
  /**
   * Per item, in ms: an item running longer fails with ITEM_TIMEOUT. Default: none
   */
  timeoutMs?: number;
  /**
   * 1 (most urgent) to 100. Default 50
   */
  priority?: number;
}
/**
 * The named arrays (`PUT /v1/arrays/{name}` first) an array task reads and writes
 */
export interface ArrayBindings {
  /**
   * The first input array
   */
  x: string;
  /**
   * The second input array (mulArrays, dot)
   */
  y?: string;
  /**
   * The output array (mulArrays); written element range by element range
   */
  out?: string;
}
/**
 * A fetch workload: HTTP requests made by the workers, many at once
 */
export interface FetchSubmission {
  type: 'fetch';
  /**
   * The items: URLs to GET. Give `urls` or `requests`
   */
  urls?: string[];
  /**
   * The items: requests (method, headers, body)
   */
  requests?: FetchRequest[];
  /**
   * A dotted path into each JSON body (`main.temp`); the item's `value` is what it points at. Default: the
   * whole body
   */
  extract?: string;
  /**
   * Requests in flight for the whole workload, across every worker. Default 16
   */
  concurrency?: number;
  /**
   * Requests in flight to one origin from one worker process. Default 8
   */
  perHostConcurrency?: number;
  /**
   * Retries of one request after a network error, a timeout, a 5xx or a 429. Default 2
   */
  retries?: number;
  /**
   * The response size cap: a longer body is an item error (FETCH_TOO_LARGE). Default 1048576 (1 MiB)
   */
  maxResponseBytes?: number;
  /**
   * Items per chunk job (the unit a worker takes, retries and locks). Default: the server's rule, ceil(items /
   * 64) between 1 and 1000 items (fetch: at least `concurrency`, so one chunk can fill it)
   */
  chunkSize?: number;
  /**
   * How many times a chunk may run (a crashed worker, a failed item). Default 3
   */
  attempts?: number;
  /**
   * Per request attempt, in ms, headers and body included. Default 10000
   */
  timeoutMs?: number;
  /**
   * 1 (most urgent) to 100. Default 50
   */
  priority?: number;
}
/**
 * One request of a fetch workload, when a bare URL is not enough
 */
export interface FetchRequest {
  /**
   * An absolute http:// or https:// URL, without user name or password
   */
  url: string;
  /**
   * Default GET
   */
  method?: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'OPTIONS';
  /**
   * Request headers (kept out of the chunk jobs: they may hold credentials)
   */
  headers?: {
    [k: string]: string;
  };
  /**
   * A string is sent as is; any other JSON value is sent as JSON
   */
  body?: {
    [k: string]: unknown;
  };
}
/**
 * An accepted workload
 */
export interface SubmitAnswer {
  /**
   * The workload's id
   */
  id: string;
  status: WorkloadStatus;
  /**
   * The workload's item count
   */
  total: number;
  /**
   * Chunk jobs the workload was cut into
   */
  chunks: number;
}
/**
 * A workload: status and counters
 */
export interface Workload {
  /**
   * The workload's id
   */
  id: string;
  type: 'compute' | 'fetch';
  /**
   * The compute task; null for a fetch workload
   */
  task: string | null;
  status: WorkloadStatus;
  /**
   * The workload's item count
   */
  total: number;
  /**
   * Items finished successfully
   */
  completed: number;
  /**
   * Items failed for good
   */
  failed: number;
  /**
   * Chunk jobs the workload was cut into
   */
  chunks: number;
  createdAt: string;
  /**
   * When a worker started its first chunk
   */
  startedAt: string | null;
  /**
   * When it reached a final status
   */
  finishedAt: string | null;
  /**
   * From start to finish (or to now, while running)
   */
  durationMs: number | null;
}
export interface WorkloadList {
  /**
   * Newest first
   */
  workloads: Workload[];
}
export interface ItemError {
  /**
   * TASK_ERROR, ITEM_TIMEOUT, THREAD_CRASHED, FETCH_* …
   */
  code: string;
  message: string;
}
export interface ItemErrorView {
  /**
   * The item's index in the workload
   */
  index: number;
  /**
   * TASK_ERROR, ITEM_TIMEOUT, THREAD_CRASHED, FETCH_* …
   */
  code: string;
  message: string;
}
/**
 * Results per item, in input order
 */
export interface WorkloadResults {
  /**
   * The workload's id
   */
  id: string;
  status: WorkloadStatus;
  /**
   * The workload's item count (results may hold fewer: a page)
   */
  total: number;
  /**
   * The index of results[0]
   */
  offset: number;
  /**
   * results[i] answers inputs[offset + i] (urls[offset + i]); null for a failed or unfinished item
   */
  results: unknown[];
  /**
   * The failed items of this page
   */
  errors: ItemErrorView[];
  /**
   * Over every result of the workload, whatever the page; integers beyond 2^53 as decimal strings
   */
  reduced: number | string | null;
}
/**
 * The first line of a results stream: the workload when the stream began
 */
export interface ResultsHead {
  /**
   * The workload's id
   */
  id: string;
  status: WorkloadStatus;
  /**
   * The workload's item count
   */
  total: number;
  /**
   * Items finished successfully
   */
  completed: number;
  /**
   * Items failed for good
   */
  failed: number;
}
/**
 * An item: its result, or null when it has no outcome yet
 */
export interface ResultItem {
  /**
   * The item's index in the workload
   */
  index: number;
  /**
   * Its result
   */
  value: {
    [k: string]: unknown;
  };
}
/**
 * A failed item
 */
export interface FailedItem {
  /**
   * The item's index in the workload
   */
  index: number;
  value: null;
  error: ItemError;
}
/**
 * The result of one fetch item
 */
export interface FetchItemResult {
  /**
   * The URL as requested (before any redirect)
   */
  url: string;
  /**
   * The answer's HTTP status
   */
  status: number;
  /**
   * Whether the status is 2xx
   */
  ok: boolean;
  /**
   * From the first attempt's start to the last answer's end, retries included
   */
  ms: number;
  /**
   * Body bytes of the last answer
   */
  bytes: number;
  /**
   * The body (parsed when JSON), or what `extract` points at
   */
  value: {
    [k: string]: unknown;
  };
}
/**
 * The workload's counters
 */
export interface ProgressData {
  status: WorkloadStatus;
  /**
   * Items finished successfully
   */
  completed: number;
  /**
   * Items failed for good
   */
  failed: number;
  /**
   * The workload's item count
   */
  total: number;
}
/**
 * A registered compute task
 */
export interface TaskInfo {
  name: string;
  description: string;
  /**
   * JSON Schema of one input
   */
  input: {
    [k: string]: unknown;
  };
  /**
   * What the task answers: `integer` and `number` results can be reduced with sum, min and max
   */
  output: 'integer' | 'number' | 'other';
  /**
   * The same input always gives the same output: the result cache (`cache: true`) applies
   */
  deterministic: boolean;
}
export interface TaskList {
  tasks: TaskInfo[];
}
/**
 * A stored array
 */
export interface StoredArray {
  name: string;
  /**
   * Elements (Float64)
   */
  length: number;
  /**
   * Bytes stored: 8 per element
   */
  bytes: number;
  /**
   * When the array expires (its TTL)
   */
  expiresAt: string;
}
/**
 * One live worker host
 */
export interface WorkerInfo {
  /**
   * WORKER_ID (by default the hostname)
   */
  id: string;
  hostname: string;
  /**
   * The host's cluster primary
   */
  pid: number;
  /**
   * The queues it takes chunks from
   */
  queues: ('compute' | 'fetch')[];
  /**
   * Worker processes
   */
  processes: number;
  /**
   * Compute threads per process
   */
  threads: number;
  /**
   * Chunks a process holds at once, per queue
   */
  concurrency: {
    compute: number;
    fetch: number;
  };
  /**
   * Chunks running on the host at its last heartbeat, per queue
   */
  activeChunks: {
    compute: number;
    fetch: number;
  };
  /**
   * ms since epoch
   */
  startedAt: number;
  /**
   * ms since epoch, the last heartbeat
   */
  lastSeenAt: number;
  /**
   * ms since epoch, by the host's clock: gone from the list if no heartbeat by then (3 × WORKER_HEARTBEAT_MS)
   */
  expiresAt: number;
}
export interface WorkerList {
  /**
   * Hosts whose last heartbeat is recent, by id
   */
  workers: WorkerInfo[];
}
/**
 * The error envelope
 */
export interface ApiError {
  error: {
    /**
     * A stable upper-case code, e.g. VALIDATION_FAILED
     */
    code: string;
    /**
     * What went wrong, for a person
     */
    message: string;
    /**
     * More about it: for VALIDATION_FAILED `{path, message}` per problem; for WORKLOAD_LOST `{id}`
     */
    details: unknown[];
  };
}

/** The option fields of a compute (every field but its items, type and task). */
export const COMPUTE_OPTION_FIELDS = ['elementsPerItem', 'reduce', 'cache', 'chunkSize', 'attempts', 'timeoutMs', 'priority'] as const;

/** The option fields of a fetch (every field but its items, type and task). */
export const FETCH_OPTION_FIELDS = [
  'extract',
  'concurrency',
  'perHostConcurrency',
  'retries',
  'maxResponseBytes',
  'chunkSize',
  'attempts',
  'timeoutMs',
  'priority',
] as const;
