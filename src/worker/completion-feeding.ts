/**
 * The worker's part of windowed feeding (core/chunk-feeder.ts): once a windowed workload's chunk job has
 * completed (its items recorded, or stopped because the workload is final), the chunk counts as done and
 * the workload's next chunks are added to the queue.
 *
 * The counting and claiming is usually done by the chunk's last recording, in the same script (see
 * chunk-run.ts), which goes to Redis just ahead of the job's completion: only adding the claimed chunks'
 * jobs is left here, after the completion, so that a workload's jobs in Redis stay within its window.
 * A chunk without such a claim (nothing left to record, or its recording failed) is counted and fed here
 * with feed-plan.lua. Not after a failed attempt (BullMQ runs the chunk again) nor a handed-back chunk:
 * those are still in the queue; a chunk given up for good is the lost-chunk reaper's. Should this
 * process die, or Redis be away, between the claim and the adding, the reconciler re-adds the claimed
 * chunks. Chunks of small workloads (all enqueued at submit) skip this.
 */
import type { Job, Worker } from 'bullmq';
import type { Logger } from 'pino';
import type { ChunkFeeder } from '../core/chunk-feeder';
import type { FeedPlan } from '../core/redis/feed-scripts';
import type { ChunkJobData } from '../core/workload';

export class CompletionFeeding {
  private readonly pending = new Set<Promise<void>>();
  /** What the last recording of a running windowed chunk claimed, by job, until the job has ended. */
  private readonly claims = new WeakMap<Job, Promise<FeedPlan | undefined>>();

  constructor(
    private readonly feeder: ChunkFeeder,
    private readonly logger: Logger,
  ) {}

  /**
   * A windowed chunk's last recording marked it done and claimed its workload's next chunks (answered by
   * `claim`, undefined when it had nothing left to write): their jobs are added once this job has ended.
   */
  expect(job: Job, claim: Promise<FeedPlan | undefined>): void {
    claim.catch(() => undefined);
    this.claims.set(job, claim);
  }

  /** Feeds after each completed chunk of `worker`. */
  attach(worker: Worker<ChunkJobData>): void {
    worker.on('completed', (job: Job<ChunkJobData>) => {
      if (job.data.windowed) this.track(job, this.feedAfter(job));
    });
    // A chunk whose recording claimed chunks and that failed after all (its completion refused): the
    // claimed chunks are added all the same, or they would wait for the reconciler.
    worker.on('failed', (job: Job<ChunkJobData> | undefined) => {
      const claim = job && this.claims.get(job);
      if (!job || !claim) return;
      this.claims.delete(job);
      this.track(job, claim.then((plan) => (plan?.state === 'claimed' ? this.feeder.chunkFinished(job.data.workloadId, job.data.chunkIndex, plan) : undefined)));
    });
  }

  /** Waits for the feeds in flight (call once the workers are closed). */
  async close(): Promise<void> {
    await Promise.all(this.pending);
  }

  private async feedAfter(job: Job<ChunkJobData>): Promise<void> {
    const claim = this.claims.get(job);
    this.claims.delete(job);
    // Without a claim (nothing was left to record, or the recording failed) the chunk is counted here.
    const plan = await claim?.catch(() => undefined);
    await this.feeder.chunkFinished(job.data.workloadId, job.data.chunkIndex, plan);
  }

  private track(job: Job, feeding: Promise<void>): void {
    const tracked = feeding.catch((error) => this.logger.warn({ err: error, jobId: job.id }, 'could not feed after a chunk; the reconciler will'));
    this.pending.add(tracked);
    void tracked.finally(() => this.pending.delete(tracked));
  }
}
