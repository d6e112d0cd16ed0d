/**
 * The queue-level view from Redis: job counts per queue and state, workloads by status, the recent
 * workloads. Read at scrape time (and by the live feed) with a short cache, so that several scrapers
 * and browser tabs cost Redis one read per cache period.
 */
import { QUEUE_KINDS, type QueueKind } from '../core/keys';
import { QUEUE_STATES, type QueueLevelSource, type QueueState } from '../core/metrics';
import type { ChunkQueues } from '../core/queues';
import type { WorkloadStore } from '../core/workload-store';
import { WORKLOAD_STATUSES, type WorkloadRecord, type WorkloadStatus } from '../core/workload';

/** Workloads counted by status at most (newest first): bounds the cost of one scrape. */
export const WORKLOAD_SCAN_LIMIT = 2_000;

export type QueueDepths = Record<QueueKind, Record<QueueState, number>>;

export interface QueueOverviewOptions {
  /**
   * How long a read is reused.
   * @defaultValue 1000
   */
  cacheMs?: number;
}

/** Keeps one answer for `ttlMs`; concurrent callers share the read in flight. */
class Cached<T> {
  private value?: { at: number; promise: Promise<T> };

  constructor(
    private readonly ttlMs: number,
    private readonly read: () => Promise<T>,
  ) {}

  get(): Promise<T> {
    const now = Date.now();
    if (!this.value || now - this.value.at > this.ttlMs) {
      const promise = this.read();
      this.value = { at: now, promise };
      // A failed read is not kept: the next caller tries again.
      promise.catch(() => {
        if (this.value?.promise === promise) this.value = undefined;
      });
    }
    return this.value.promise;
  }
}

export class QueueOverview implements QueueLevelSource {
  private readonly depths: Cached<QueueDepths>;
  private readonly statuses: Cached<Record<WorkloadStatus, number>>;

  constructor(
    private readonly queues: ChunkQueues,
    private readonly store: WorkloadStore,
    options: QueueOverviewOptions = {},
  ) {
    const cacheMs = options.cacheMs ?? 1_000;
    this.depths = new Cached(cacheMs, () => this.readDepths());
    this.statuses = new Cached(cacheMs, () => this.readStatuses());
  }

  queueJobs(): Promise<QueueDepths> {
    return this.depths.get();
  }

  workloadsByStatus(): Promise<Record<WorkloadStatus, number>> {
    return this.statuses.get();
  }

  /** The newest workloads, uncached (the live feed samples them once a second). */
  recent(limit: number): Promise<WorkloadRecord[]> {
    return this.store.list({ limit });
  }

  private async readDepths(): Promise<QueueDepths> {
    const entries = await Promise.all(
      QUEUE_KINDS.map(async (kind) => {
        const counts = await this.queues[kind].getJobCounts('waiting', 'prioritized', 'active', 'delayed', 'failed', 'completed');
        const states: Record<QueueState, number> = {
          waiting: (counts.waiting ?? 0) + (counts.prioritized ?? 0),
          active: counts.active ?? 0,
          delayed: counts.delayed ?? 0,
          failed: counts.failed ?? 0,
          completed: counts.completed ?? 0,
        };
        return [kind, states] as const;
      }),
    );
    return Object.fromEntries(entries) as QueueDepths;
  }

  private async readStatuses(): Promise<Record<WorkloadStatus, number>> {
    const counts = Object.fromEntries(WORKLOAD_STATUSES.map((status) => [status, 0])) as Record<WorkloadStatus, number>;
    for (const record of await this.store.list({ limit: WORKLOAD_SCAN_LIMIT })) counts[record.status]++;
    return counts;
  }
}

/** Every queue state, zero: what the live page shows before the first sample. */
export const emptyDepths = (): QueueDepths =>
  Object.fromEntries(QUEUE_KINDS.map((kind) => [kind, Object.fromEntries(QUEUE_STATES.map((state) => [state, 0]))])) as QueueDepths;
