/**
 * A worker process's metrics: its own registry (answered to the primary, which adds up the host's
 * processes) and the hooks that feed it. Work done on threads is recorded here, in the process that
 * ran the thread, from the timings the threads send back. Every series carries the host's WORKER_ID
 * (`worker_id`). A chunk handed back to the queue is counted and logged (info) here too.
 */
import cluster from 'node:cluster';
import { DelayedError, type Job } from 'bullmq';
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import type { QueueKind } from '../core/keys';
import { listTasks } from '../core/tasks/task-registry';
import {
  CHUNK_OUTCOMES,
  HAND_BACK_REASONS,
  ITEM_OUTCOMES,
  STATUS_CLASSES,
  processMetrics,
  statusClass,
  taskLabel,
  workerIdLabel,
  workerProcessMetrics,
  type ChunkMetricOutcome,
  type HandBackReason,
  type WorkerProcessMetrics,
} from '../core/metrics';
import { answerMetricsRequests, reportFinalMetrics } from './cluster-metrics';
import { HandBackError } from './hand-back';
import type { ThreadPool } from './thread-pool';

/** What a chunk job carries that metrics (and the hand-back log line) look at. */
interface ChunkLabels {
  type: string;
  task?: unknown;
  workloadId?: string;
  chunkIndex?: number;
}

type Processor<D, R> = (job: Job<D>, token?: string, signal?: AbortSignal) => Promise<R>;

/** One finished item, as the chunk processors report it. */
export interface ItemDone {
  ok: boolean;
  /** Time the item ran (on a thread for compute). */
  runMs: number;
  task: string;
  /** False for a failure that the chunk's next attempt runs again. */
  final?: boolean;
}

export class WorkerMetrics {
  readonly registry = new Registry();
  readonly metrics: WorkerProcessMetrics;
  private readonly detach: () => void;
  private readonly boundItemSeries = new Map<string, { items: { inc(): void }; runSeconds: { observe(value: number): void } }>();

  constructor(
    pool: ThreadPool,
    workerId: string,
    private readonly logger: Logger,
  ) {
    workerIdLabel(this.registry, workerId);
    processMetrics(this.registry);
    this.metrics = workerProcessMetrics(this.registry, {
      busyThreads: () => pool.busy,
      threadPoolUtilization: () => pool.utilization,
    });
    this.metrics.processes.set(1);
    this.metrics.threads.set(pool.threads);
    this.zeroSeries();
    this.detach = answerMetricsRequests(this.registry);
  }

  /** The hook for compute-chunk-processor's `onItemDone`. */
  computeItemDone = (item: ItemDone): void => this.itemDone('compute', item);

  itemDone(queue: QueueKind, item: ItemDone): void {
    const outcome = item.ok ? 'succeeded' : item.final === false ? 'retried' : 'failed';
    const series = this.itemSeries(queue, item.task, outcome);
    series.items.inc();
    if (item.runMs > 0) {
      series.runSeconds.observe(item.runMs / 1000);
      if (queue === 'compute') this.metrics.threadBusySeconds.inc(item.runMs / 1000);
    }
  }

  /**
   * An item's series, bound to their labels once: items finish by the hundred thousand per second, and
   * prom-client hashes a label object on every call that is given one.
   */
  private itemSeries(queue: QueueKind, task: string, outcome: string) {
    // Keyed by the label, not the task name: the map stays as small as the label sets.
    const taskName = queue === 'compute' ? taskLabel(task) : 'fetch';
    const key = `${queue}\0${taskName}\0${outcome}`;
    let series = this.boundItemSeries.get(key);
    if (!series) {
      series = {
        items: this.metrics.items.labels({ queue, task: taskName, outcome }),
        runSeconds: this.metrics.itemRunSeconds.labels({ queue, task: taskName }),
      };
      this.boundItemSeries.set(key, series);
    }
    return series;
  }

  /** The hook for compute-chunk-processor's `onCacheLookup`. */
  cacheLookup = ({ task, hits, misses }: { task: string; hits: number; misses: number }): void => {
    const labels = { task: taskLabel(task) };
    if (hits > 0) this.metrics.cacheHits.inc(labels, hits);
    if (misses > 0) this.metrics.cacheMisses.inc(labels, misses);
  };

  /** One HTTP request of a fetch item (status undefined: no answer). */
  fetchRequestDone(status: number | undefined, durationMs: number): void {
    const labels = { status_class: statusClass(status) };
    this.metrics.fetchResponses.inc(labels);
    this.metrics.fetchRequestSeconds.observe(labels, durationMs / 1000);
  }

  /** Wraps a BullMQ processor: chunk outcome, run time, queue wait and the running count. */
  instrument<D extends ChunkLabels, R>(queue: QueueKind, processor: Processor<D, R>): Processor<D, R> {
    const { chunks, chunkRunSeconds, queueWaitSeconds, activeChunks, handedBack } = this.metrics;
    const active = activeChunks.labels({ queue });
    // Bound to their labels once per task (see itemSeries).
    const bound = new Map<string, { wait: { observe(value: number): void }; run: { startTimer(): () => void }; outcomes: Map<string, { inc(): void }> }>();
    const seriesOf = (task: string) => {
      let series = bound.get(task);
      if (!series) {
        series = { wait: queueWaitSeconds.labels({ queue, task }), run: chunkRunSeconds.labels({ queue, task }), outcomes: new Map() };
        bound.set(task, series);
      }
      return series;
    };
    return async (job, token, signal) => {
      const task = queue === 'fetch' ? 'fetch' : typeof job.data.task === 'string' ? taskLabel(job.data.task) : 'unknown';
      const series = seriesOf(task);
      // The first run only: a retry's wait would count its backoff, a handed-back chunk's its earlier run.
      if (job.attemptsStarted <= 1 && job.processedOn) {
        const readyAt = job.timestamp + (job.opts.delay ?? 0);
        series.wait.observe(Math.max(0, job.processedOn - readyAt) / 1000);
      }
      active.inc();
      const endRun = series.run.startTimer();
      let outcome: ChunkMetricOutcome = 'failed';
      let handBack: HandBackReason | undefined;
      try {
        const result = await processor(job, token, signal);
        const stopped = (result as { stopped?: string } | undefined)?.stopped;
        outcome = stopped ? 'cancelled' : 'completed';
        return result;
      } catch (error) {
        if (error instanceof DelayedError) {
          outcome = 'handed_back';
          // A DelayedError that is not a HandBackError is counted as a shutdown's hand-back.
          handBack = error instanceof HandBackError ? error.reason : 'shutdown';
        }
        throw error;
      } finally {
        endRun();
        active.dec();
        let counter = series.outcomes.get(outcome);
        if (!counter) series.outcomes.set(outcome, (counter = chunks.labels({ queue, task, outcome })));
        counter.inc();
        if (handBack) {
          handedBack.inc({ queue, reason: handBack });
          this.logger.info(
            { queue, workloadId: job.data.workloadId, chunk: job.data.chunkIndex, jobId: job.id, reason: handBack },
            'chunk handed back to the queue',
          );
        }
      }
    };
  }

  /**
   * Every label set exists from the start, at zero: a failure panel or a fetch panel then shows 0
   * rather than "no data", and the first increment is seen by rate() (the label sets are bounded).
   */
  private zeroSeries(): void {
    const { items, chunks, handedBack, fetchResponses, fetchRequestSeconds } = this.metrics;
    const work = [...listTasks().map((task) => ({ queue: 'compute', task: task.name })), { queue: 'fetch', task: 'fetch' }];
    for (const labels of work) {
      for (const outcome of ITEM_OUTCOMES) items.inc({ ...labels, outcome }, 0);
      for (const outcome of CHUNK_OUTCOMES) chunks.inc({ ...labels, outcome }, 0);
    }
    for (const queue of ['compute', 'fetch']) for (const reason of HAND_BACK_REASONS) handedBack.inc({ queue, reason }, 0);
    for (const task of listTasks().filter((definition) => definition.deterministic)) {
      this.metrics.cacheHits.inc({ task: task.name }, 0);
      this.metrics.cacheMisses.inc({ task: task.name }, 0);
    }
    for (const statusClass of STATUS_CLASSES) {
      fetchResponses.inc({ status_class: statusClass }, 0);
      fetchRequestSeconds.zero({ status_class: statusClass });
    }
  }

  /**
   * Stops answering the primary and sends it this process's final values (see reportFinalMetrics):
   * call it when nothing counts any more, just before the process exits.
   */
  async close(): Promise<void> {
    this.detach();
    // Only a cluster child has a primary to tell (as with the ready message, worker-process.ts).
    if (!cluster.isWorker || (await reportFinalMetrics(this.registry))) return;
    this.logger.warn('the final metrics did not reach the primary; counts since its last poll are lost');
  }
}
