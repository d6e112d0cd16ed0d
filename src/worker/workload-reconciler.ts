/**
 * Self-repair (anti-entropy): every accepted workload reaches a final status, whatever was lost on the way.
 *
 * Crashes, stalls and failovers can leave a workload whose state does not add up: a chunk job that a
 * failover dropped (its workload waits for ever, `queued` or `running`), item outcomes that a demoted
 * master took with it while the chunk still completed (its counters stop short of `total`), feeding that
 * a dead worker interrupted, a failed chunk whose reap did not stick. Each worker host's primary runs this
 * reconciler every RECONCILE_INTERVAL_MS over the open workloads (`Keys.openWorkloads`, oldest first):
 *
 *   record gone, or final            ─▶ off the open list (a gone record is logged: see docs/guarantees.md)
 *   submission not whole yet         ─▶ left alone for SUBMISSION_GRACE_MS (the producer may still roll it back)
 *   windowed                         ─▶ top up its window; fed chunks neither done nor queued are suspects
 *   no progress for QUIET_LOOKS looks ─▶ chunks with items that have no outcome, checked against the queue:
 *        job waiting, active, delayed  fine: it is coming
 *        job failed for good           reaped (its missing items become CHUNK_LOST)
 *        no job                        a suspect
 *   a suspect in two looks in a row  ─▶ its job is added again from the payloads kept since submission
 *
 * Two looks in a row, so that a job on its way (an add between a claim and its addBulk, a retry between
 * two states) is not mistaken for a loss. Adding a chunk again is safe: job ids are deterministic (a job
 * that exists is left alone) and recording is exactly-once per item (core/workload-store.ts), so a chunk
 * that turns out to have run after all changes nothing. Several hosts may reconcile the same workload at
 * once for the same reasons. The reconciler keeps only this host's memory of what it saw last time.
 */
import { Job } from 'bullmq';
import type { Logger } from 'pino';
import type { ChunkFeeder } from '../core/chunk-feeder';
import { chunkJobOptions, type ChunkJobSettings } from '../core/chunk-job-options';
import type { QueueKind } from '../core/keys';
import type { ChunkQueues } from '../core/queues';
import type { WorkloadStore } from '../core/workload-store';
import { chunkJobId, FINAL_STATUSES, type ChunkJobData, type WorkloadRecord } from '../core/workload';
import { recordLostChunk } from './lost-chunk-reaper';

export interface WorkloadReconcilerOptions extends ChunkJobSettings {
  /** How long a submission that is not whole yet is left to its producer. @defaultValue 60000 */
  submissionGraceMs?: number;
  /** Looks without progress before a workload's chunks are checked against the queue. @defaultValue 2 */
  quietLooks?: number;
}

/** Open workloads one look visits at most, oldest first. */
const WORKLOADS_PER_LOOK = 1000;
/** Workloads checked at once: their reads are sent together. */
const CONCURRENCY = 16;
/** Chunks with missing outcomes checked per workload and look. */
const CHUNKS_PER_LOOK = 1000;

/** Job states in which a chunk is on its way to running. */
const LIVE_STATES = new Set(['waiting', 'active', 'delayed', 'prioritized', 'waiting-children']);

interface Seen {
  /** completed + failed at the last look. */
  progress: number;
  /** Looks in a row that found no progress. */
  quietLooks: number;
  /** Chunks that had no job at the last look. */
  suspects: Set<number>;
}

/** What one look did, for logs and tests. */
export interface ReconcileReport {
  visited: number;
  closed: number;
  reAdded: number;
  reaped: number;
}

export class WorkloadReconciler {
  private readonly options: Required<WorkloadReconcilerOptions>;
  private seen = new Map<string, Seen>();

  constructor(
    private readonly store: WorkloadStore,
    private readonly feeder: ChunkFeeder,
    private readonly queues: ChunkQueues,
    private readonly logger: Logger,
    options: WorkloadReconcilerOptions,
  ) {
    this.options = { submissionGraceMs: 60_000, quietLooks: 2, ...options };
  }

  /** One look at every open workload (at most WORKLOADS_PER_LOOK of them). */
  async look(now = Date.now()): Promise<ReconcileReport> {
    const ids = await this.store.openWorkloads(WORKLOADS_PER_LOOK);
    const report: ReconcileReport = { visited: ids.length, closed: 0, reAdded: 0, reaped: 0 };
    const seenNow = new Map<string, Seen>();
    for (let offset = 0; offset < ids.length; offset += CONCURRENCY) {
      await Promise.all(ids.slice(offset, offset + CONCURRENCY).map((id) => this.reconcile(id, now, report, seenNow)));
    }
    this.seen = seenNow;
    if (report.reAdded > 0 || report.reaped > 0) this.logger.warn(report, 'reconciler repaired workloads');
    return report;
  }

  private async reconcile(id: string, now: number, report: ReconcileReport, seenNow: Map<string, Seen>): Promise<void> {
    const record = await this.store.get(id);
    if (!record || FINAL_STATUSES.has(record.status)) {
      if (!record) this.logger.warn({ workloadId: id }, 'an open workload has no record any more (expired, or lost with Redis data); closed');
      await this.store.closeOpen(id);
      report.closed++;
      return;
    }
    if (record.acceptedAt === undefined && now - record.createdAt < this.options.submissionGraceMs) return;

    await this.feeder.topUp(id);
    const [fedCount, fedWithoutJob] = await Promise.all([this.feeder.fedCount(id), this.feeder.fedChunksWithoutJob(id, record.type as QueueKind)]);
    const fed = fedCount ?? record.chunks;
    const candidates = new Set(fedWithoutJob);

    const progress = record.completed + record.failed;
    const before = this.seen.get(id);
    const quietLooks = before && before.progress === progress ? before.quietLooks + 1 : 0;
    if (quietLooks >= this.options.quietLooks) {
      for (const chunkIndex of await this.chunksWithoutLiveJob(record, fed, report)) candidates.add(chunkIndex);
    }

    // Re-added only when the last look found them missing too.
    const confirmed = [...candidates].filter((chunkIndex) => before?.suspects.has(chunkIndex));
    seenNow.set(id, { progress, quietLooks, suspects: candidates });
    if (confirmed.length === 0) return;
    const type = record.type as QueueKind;
    const added = await this.feeder.reAdd(id, type, chunkJobOptions(record, this.options), confirmed);
    report.reAdded += added;
    this.logger.warn({ workloadId: id, chunks: confirmed.slice(0, 20), added }, 'added lost chunk jobs again');
  }

  /**
   * Chunks among the first `fed` whose items are not all recorded and that have no job on its way; a
   * failed job's missing items are reaped on the way (the lost-chunk reaper's write may not have stuck).
   */
  private async chunksWithoutLiveJob(record: WorkloadRecord, fed: number, report: ReconcileReport): Promise<number[]> {
    const queue = this.queues[record.type as QueueKind];
    const missing = await this.store.chunksMissingOutcomes(record, fed, CHUNKS_PER_LOOK);
    // The states read together (one round trip's wait, not one per chunk), as the feeder's sweep does.
    const states = await Promise.all(missing.map((chunkIndex) => queue.getJobState(chunkJobId(record.id, chunkIndex))));
    const jobless: number[] = [];
    for (const [position, chunkIndex] of missing.entries()) {
      const jobId = chunkJobId(record.id, chunkIndex);
      const state = states[position];
      if (LIVE_STATES.has(state)) continue;
      if (state === 'failed') {
        const job = await Job.fromId<ChunkJobData>(queue, jobId);
        if (job) {
          await recordLostChunk(job, { store: this.store, feeder: this.feeder, logger: this.logger, queue: record.type as QueueKind });
          report.reaped++;
        }
        continue;
      }
      jobless.push(chunkIndex);
    }
    return jobless;
  }
}
