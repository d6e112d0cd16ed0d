/**
 * What the live page shows, sampled once a second on the server: throughput (items finished per second,
 * by workload type), queue depths and the recent workloads. Throughput comes from the workloads' own
 * counters (`completed + failed`): the difference between two samples of the newest workloads. Keeping
 * the history here (a ring buffer) means a page opened late still sees the last minutes, and every open
 * page costs Redis nothing extra.
 *
 * Limit: only the newest `trackedWorkloads` are followed; items of an older workload that is still
 * running are not counted.
 *
 * Tenants: each page is shown the workloads its viewer may see (its tenant's, or all for an admin),
 * picked from the tracked ones, so a tenant sees its own among the newest `trackedWorkloads` of all.
 * Throughput and queue depths are totals over every tenant (numbers only, no ids).
 */
import type { Logger } from 'pino';
import { REDIS_NOISE } from '../core/logger';
import { canSee, OPEN_IDENTITY, type Identity } from '../core/tenants';
import { toWorkloadView, type WorkloadRecord, type WorkloadType, type WorkloadView } from '../core/workload';
import { emptyDepths, type QueueDepths, type QueueOverview } from './queue-overview';

/** One sample: time (ms since the epoch) and items finished per second, by workload type. */
export interface ThroughputPoint {
  t: number;
  compute: number;
  fetch: number;
}

export interface LiveTick {
  point: ThroughputPoint;
  queues: QueueDepths;
  workloads: WorkloadView[];
}

export interface LiveSnapshot {
  points: ThroughputPoint[];
  queues: QueueDepths;
  workloads: WorkloadView[];
}

export interface LiveFeedOptions {
  /** @defaultValue 1000 */
  intervalMs?: number;
  /** Samples kept (at 1 s: ten minutes). @defaultValue 600 */
  historyPoints?: number;
  /** Workloads the page lists. @defaultValue 10 */
  shownWorkloads?: number;
  /** Newest workloads whose progress counts into throughput. @defaultValue 100 */
  trackedWorkloads?: number;
}

export class LiveFeed {
  private readonly options: Required<LiveFeedOptions>;
  private readonly points: ThroughputPoint[] = [];
  private readonly listeners = new Map<(tick: LiveTick) => void, Identity>();
  private finishedById = new Map<string, number>();
  private lastSampleAt = Date.now();
  private queues: QueueDepths = emptyDepths();
  /** The tracked workloads, newest first, with their tenants. */
  private workloads: Array<{ view: WorkloadView; tenant?: string }> = [];
  private timer?: NodeJS.Timeout;
  private sampling = false;
  private failing = false;

  constructor(
    private readonly overview: QueueOverview,
    private readonly logger: Logger,
    options: LiveFeedOptions = {},
  ) {
    this.options = { intervalMs: 1_000, historyPoints: 600, shownWorkloads: 10, trackedWorkloads: 100, ...options };
  }

  start(): void {
    this.timer ??= setInterval(() => void this.sample(), this.options.intervalMs);
    void this.sample();
  }

  /** The history and the latest sample, with the workloads `viewer` may see. */
  snapshot(viewer: Identity = OPEN_IDENTITY): LiveSnapshot {
    return { points: [...this.points], queues: this.queues, workloads: this.visibleTo(viewer) };
  }

  /** Calls `listener` after every sample, with the workloads `viewer` may see; answers the unsubscribe function. */
  subscribe(listener: (tick: LiveTick) => void, viewer: Identity = OPEN_IDENTITY): () => void {
    this.listeners.set(listener, viewer);
    return () => this.listeners.delete(listener);
  }

  private visibleTo(viewer: Identity): WorkloadView[] {
    return this.workloads
      .filter((workload) => canSee(viewer, workload.tenant))
      .slice(0, this.options.shownWorkloads)
      .map((workload) => workload.view);
  }

  close(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.listeners.clear();
  }

  private async sample(): Promise<void> {
    // A slow Redis must not pile samples up.
    if (this.sampling) return;
    this.sampling = true;
    try {
      const [queues, records] = await Promise.all([this.overview.queueJobs(), this.overview.recent(this.options.trackedWorkloads)]);
      const now = Date.now();
      const point = this.throughput(records, now);
      this.queues = queues;
      this.workloads = records.map((record) => ({ view: toWorkloadView(record, now), tenant: record.tenant }));
      this.points.push(point);
      if (this.points.length > this.options.historyPoints) this.points.shift();
      if (this.failing) this.logger.info('live feed sampling again');
      this.failing = false;
      for (const [listener, viewer] of this.listeners) listener({ point, queues, workloads: this.visibleTo(viewer) });
    } catch (error) {
      if (!this.failing) this.logger.warn({ err: error, ...REDIS_NOISE }, 'live feed could not sample Redis');
      this.failing = true;
    } finally {
      this.sampling = false;
    }
  }

  private throughput(records: WorkloadRecord[], now: number): ThroughputPoint {
    const finished: Record<WorkloadType, number> = { compute: 0, fetch: 0 };
    const next = new Map<string, number>();
    for (const record of records) {
      const done = record.completed + record.failed;
      // A workload seen for the first time counts from zero only if it was created since the last sample.
      const before = this.finishedById.get(record.id) ?? (record.createdAt >= this.lastSampleAt ? 0 : done);
      finished[record.type] += Math.max(0, done - before);
      next.set(record.id, done);
    }
    const seconds = Math.max(0.001, (now - this.lastSampleAt) / 1000);
    this.finishedById = next;
    this.lastSampleAt = now;
    return { t: now, compute: finished.compute / seconds, fetch: finished.fetch / seconds };
  }
}
