/**
 * Every Prometheus metric chunkmill exports, defined once: names, help, labels, buckets and how a
 * worker host adds up its cluster processes (`aggregator`, see worker/cluster-metrics.ts).
 *
 * Rules: base units (seconds, bytes), the `chunkmill_` prefix, and only bounded labels:
 * - `queue`: compute | fetch
 * - `task`: a registered compute task name ('unknown' for anything else), 'fetch' for fetch work
 * - `outcome`: the small fixed sets below
 * - `status_class`: 1xx..5xx or error
 * - `state`, `status`: BullMQ job states, workload statuses
 * - `reason`: why a chunk was handed back (HAND_BACK_REASONS)
 * - `worker_id`: on every series of a worker host, its WORKER_ID (the hostname by default), the id that
 *   `GET /v1/workers` shows: a host's series stay its own whatever address it has (workerIdLabel)
 * - `method`, `route`, `status`: the producer's HTTP requests; `route` is the Express route pattern
 *   (`/v1/workloads/:id`), never the URL asked for
 * Never workload ids, job ids, URLs or tokens.
 *
 * Who exports what, so that nothing is counted twice:
 * - worker processes: the work they did (items, chunks, fetches, thread time) and their own gauges;
 *   the worker host's primary serves them all added up on WORKER_METRICS_PORT.
 * - the dashboard: queue-level facts read from Redis (job counts, workloads by status). Only the
 *   dashboard exports them, so they are never multiplied by the number of worker processes.
 * - the producer: its HTTP requests and the submissions it accepted or refused (producerMetrics).
 * - every process: CPU, memory, event-loop lag (prom-client's default metrics, with the prefix).
 */
import { Counter, Gauge, Histogram, collectDefaultMetrics, type Registry } from 'prom-client';
import type { QueueKind } from './keys';
import { findTask } from './tasks/task-registry';
import type { WorkloadStatus } from './workload';

export const METRIC_PREFIX = 'chunkmill_';

/** What became of one item run: done, failed for good, or failed with a retry to come. */
export const ITEM_OUTCOMES = ['succeeded', 'failed', 'retried'] as const;
export type ItemMetricOutcome = (typeof ITEM_OUTCOMES)[number];

/**
 * What became of one chunk run: `completed` (its items are recorded), `failed` (the attempt threw; BullMQ
 * retries it or gives it up), `cancelled` (its workload was cancelled or already final), `handed_back`
 * (returned to the queue without using an attempt: the worker was shutting down, or Redis was away; see
 * `chunkmill_chunks_handed_back_total` for which).
 */
export const CHUNK_OUTCOMES = ['completed', 'failed', 'cancelled', 'handed_back'] as const;
export type ChunkMetricOutcome = (typeof CHUNK_OUTCOMES)[number];

/**
 * Why a chunk went back to the queue without using an attempt: the process was stopping (`shutdown`:
 * its grace period ended while the chunk ran), or Redis could not serve its run (`redis_unavailable`).
 */
export const HAND_BACK_REASONS = ['shutdown', 'redis_unavailable'] as const;
export type HandBackReason = (typeof HAND_BACK_REASONS)[number];

export const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx', 'error'] as const;
export type StatusClass = (typeof STATUS_CLASSES)[number];

/** The job states the dashboard reports; `waiting` includes BullMQ's `prioritized`. */
export const QUEUE_STATES = ['waiting', 'active', 'delayed', 'failed', 'completed'] as const;
export type QueueState = (typeof QUEUE_STATES)[number];

/** Item and chunk times: from a millisecond to five minutes. */
const DURATION_BUCKETS_SECONDS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
/** Queue waits run longer: up to an hour. */
const WAIT_BUCKETS_SECONDS = [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];
const REQUEST_BUCKETS_SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** A task name as a label value: registered names only, so a label never holds what a request made up. */
export function taskLabel(task: string): string {
  return findTask(task) ? task : 'unknown';
}

/** The label of a fetch answer's HTTP status (or `error` when there was no answer). */
export function statusClass(status: number | undefined): StatusClass {
  if (status === undefined || !Number.isInteger(status) || status < 100 || status > 599) return 'error';
  return `${Math.floor(status / 100)}xx` as StatusClass;
}

/** CPU, memory, event-loop lag, GC, handles of this process, as `chunkmill_process_*` and `chunkmill_nodejs_*`. */
export function processMetrics(registry: Registry): void {
  collectDefaultMetrics({ register: registry, prefix: METRIC_PREFIX });
}

/**
 * Labels every series of `registry` with the worker host's WORKER_ID. Set on each process's registry
 * (the children's and the primary's), so that it survives the primary's aggregation.
 */
export function workerIdLabel(registry: Registry, workerId: string): void {
  registry.setDefaultLabels({ worker_id: workerId });
}

/** Values a worker process reads at scrape time. */
export interface WorkerReadings {
  busyThreads(): number;
  threadPoolUtilization(): number;
}

/** What one worker process exports. Counters and histograms add up over the host's processes. */
export function workerProcessMetrics(registry: Registry, readings: WorkerReadings) {
  const registers = [registry];
  return {
    items: new Counter({
      name: 'chunkmill_items_total',
      help: 'Item runs finished, by outcome (retried: failed, and its chunk will run it again)',
      labelNames: ['queue', 'task', 'outcome'] as const,
      registers,
      aggregator: 'sum',
    }),
    itemRunSeconds: new Histogram({
      name: 'chunkmill_item_run_seconds',
      help: 'Time one item ran: on a compute thread, or one fetch with its retries',
      labelNames: ['queue', 'task'] as const,
      buckets: DURATION_BUCKETS_SECONDS,
      registers,
      aggregator: 'sum',
    }),
    threadBusySeconds: new Counter({
      name: 'chunkmill_thread_busy_seconds_total',
      help: 'Time compute threads spent running items (as measured by the threads); rate / threads = utilisation',
      registers,
      aggregator: 'sum',
    }),
    chunks: new Counter({
      name: 'chunkmill_chunks_total',
      help: 'Chunk job runs finished, by outcome',
      labelNames: ['queue', 'task', 'outcome'] as const,
      registers,
      aggregator: 'sum',
    }),
    handedBack: new Counter({
      name: 'chunkmill_chunks_handed_back_total',
      help: 'Chunk runs handed back to the queue without using an attempt, by reason (shutdown: grace period over; redis_unavailable)',
      labelNames: ['queue', 'reason'] as const,
      registers,
      aggregator: 'sum',
    }),
    chunkRunSeconds: new Histogram({
      name: 'chunkmill_chunk_run_seconds',
      help: 'Time from a chunk run start to its end, whatever the outcome',
      labelNames: ['queue', 'task'] as const,
      buckets: DURATION_BUCKETS_SECONDS,
      registers,
      aggregator: 'sum',
    }),
    queueWaitSeconds: new Histogram({
      name: 'chunkmill_queue_wait_seconds',
      help: 'Time a chunk job waited in the queue before its first run',
      labelNames: ['queue', 'task'] as const,
      buckets: WAIT_BUCKETS_SECONDS,
      registers,
      aggregator: 'sum',
    }),
    activeChunks: new Gauge({
      name: 'chunkmill_active_chunks',
      help: 'Chunk jobs running now',
      labelNames: ['queue'] as const,
      registers,
      aggregator: 'sum',
    }),
    cacheHits: new Counter({
      name: 'chunkmill_cache_hits_total',
      help: 'Items of "cache": true workloads answered from the result cache, without running',
      labelNames: ['task'] as const,
      registers,
      aggregator: 'sum',
    }),
    cacheMisses: new Counter({
      name: 'chunkmill_cache_misses_total',
      help: 'Items of "cache": true workloads not found in the result cache (they run)',
      labelNames: ['task'] as const,
      registers,
      aggregator: 'sum',
    }),
    fetchRequestSeconds: new Histogram({
      name: 'chunkmill_fetch_request_duration_seconds',
      help: 'Latency of one HTTP request of a fetch item (each retry is a request)',
      labelNames: ['status_class'] as const,
      buckets: REQUEST_BUCKETS_SECONDS,
      registers,
      aggregator: 'sum',
    }),
    fetchResponses: new Counter({
      name: 'chunkmill_fetch_responses_total',
      help: 'HTTP requests of fetch items, by status class (error: no answer)',
      labelNames: ['status_class'] as const,
      registers,
      aggregator: 'sum',
    }),
    processes: new Gauge({
      name: 'chunkmill_worker_processes',
      help: 'Worker processes running (each reports 1; the host adds them up)',
      registers,
      aggregator: 'sum',
    }),
    threads: new Gauge({
      name: 'chunkmill_worker_threads',
      help: 'Compute threads in the worker processes',
      registers,
      aggregator: 'sum',
    }),
    busyThreads: new Gauge({
      name: 'chunkmill_worker_threads_busy',
      help: 'Compute threads running an item now',
      registers,
      aggregator: 'sum',
      collect() {
        this.set(readings.busyThreads());
      },
    }),
    threadPoolUtilization: new Gauge({
      name: 'chunkmill_thread_pool_utilization',
      help: "Share of the thread pool's capacity used since the process started (piscina), 0..1; averaged over the processes",
      registers,
      aggregator: 'average',
      collect() {
        this.set(readings.threadPoolUtilization());
      },
    }),
  };
}
export type WorkerProcessMetrics = ReturnType<typeof workerProcessMetrics>;

/** What the worker host's primary adds about its children. */
export function workerHostMetrics(registry: Registry) {
  return {
    processExits: new Counter({
      name: 'chunkmill_worker_process_exits_total',
      help: 'Worker processes of this host that exited (the host forks a new one unless it is stopping)',
      registers: [registry],
      aggregator: 'sum',
    }),
  };
}

/** What became of a `POST /v1/workloads`: a new workload, the answer to a repeated Idempotency-Key, refused (4xx) or failed (5xx). */
export const SUBMISSION_OUTCOMES = ['accepted', 'repeated', 'rejected', 'failed'] as const;
export type SubmissionOutcome = (typeof SUBMISSION_OUTCOMES)[number];
/** A submission's `type` label: a workload type, or `invalid` for a body without a known one. */
export const SUBMISSION_TYPES = ['compute', 'fetch', 'invalid'] as const;

/** What the producer exports besides the default process metrics. */
export function producerMetrics(registry: Registry) {
  const registers = [registry];
  return {
    requests: new Counter({
      name: 'chunkmill_http_requests_total',
      help: 'HTTP requests the producer answered, by method, route pattern and status code (route "unmatched": no route answered it)',
      labelNames: ['method', 'route', 'status'] as const,
      registers,
    }),
    requestSeconds: new Histogram({
      name: 'chunkmill_http_request_duration_seconds',
      help: 'Time from a request arriving to the last byte of its answer, by method, route pattern and status code',
      labelNames: ['method', 'route', 'status'] as const,
      buckets: REQUEST_BUCKETS_SECONDS,
      registers,
    }),
    submissions: new Counter({
      name: 'chunkmill_submissions_total',
      help: 'Workload submissions (POST /v1/workloads), by workload type and outcome (accepted, repeated Idempotency-Key, rejected 4xx, failed 5xx)',
      labelNames: ['type', 'outcome'] as const,
      registers,
    }),
  };
}
export type ProducerMetrics = ReturnType<typeof producerMetrics>;

/** Where the dashboard's gauges get their values, at scrape time. */
export interface QueueLevelSource {
  queueJobs(): Promise<Record<QueueKind, Record<QueueState, number>>>;
  workloadsByStatus(): Promise<Record<WorkloadStatus, number>>;
}

/** Queue-level facts from Redis: exported by the dashboard only, so never multiplied by processes. */
export function dashboardMetrics(registry: Registry, source: QueueLevelSource): void {
  new Gauge({
    name: 'chunkmill_queue_jobs',
    help: 'Chunk jobs in each queue, by state (waiting includes prioritized)',
    labelNames: ['queue', 'state'] as const,
    registers: [registry],
    async collect() {
      const counts = await source.queueJobs();
      for (const [queue, states] of Object.entries(counts)) {
        for (const [state, count] of Object.entries(states)) this.set({ queue, state }, count);
      }
    },
  });
  new Gauge({
    name: 'chunkmill_workloads',
    help: 'Workloads still kept (see RESULT_TTL_SECONDS; newest 2000 at most), by status',
    labelNames: ['status'] as const,
    registers: [registry],
    async collect() {
      const counts = await source.workloadsByStatus();
      for (const [status, count] of Object.entries(counts)) this.set({ status }, count);
    },
  });
}
