/**
 * The worker's part of windowed feeding (core/chunk-feeder.ts): when a windowed workload's chunk job has
 * completed (its items recorded, or stopped because the workload is final, and BullMQ has removed the
 * job), the chunk is marked done and the workload's next chunks are fed. Marking after the job is gone,
 * not before, is what keeps a workload's jobs in Redis at most its window at every instant.
 *
 * Not after a failed attempt (BullMQ runs the chunk again) nor a handed-back chunk: those are still in
 * the queue. A chunk given up for good is the lost-chunk reaper's. Should this process die, or Redis be
 * away, between the completion and the mark, the reconciler re-adds the chunk (it runs, finds its items
 * recorded, changes nothing) and the mark follows. Chunks of small workloads (all enqueued at submit)
 * skip this: it is never on their critical path.
 */
import type { Job, Worker } from 'bullmq';
import type { Logger } from 'pino';
import { REDIS_NOISE } from '../core/logger';
import type { ChunkFeeder } from '../core/chunk-feeder';
import type { ChunkJobData } from '../core/workload';

export class CompletionFeeding {
  private readonly pending = new Set<Promise<void>>();

  constructor(
    private readonly feeder: ChunkFeeder,
    private readonly logger: Logger,
  ) {}

  /** Feeds after each completed chunk of `worker`. */
  attach(worker: Worker<ChunkJobData>): void {
    worker.on('completed', (job: Job<ChunkJobData>) => {
      if (!job.data.windowed) return;
      const feeding = this.feeder
        .chunkFinished(job.data.workloadId, job.data.chunkIndex)
        .catch((error) => this.logger.warn({ err: error, jobId: job.id, ...REDIS_NOISE }, 'could not feed after a chunk; the reconciler will'));
      this.pending.add(feeding);
      void feeding.finally(() => this.pending.delete(feeding));
    });
  }

  /** Waits for the feeds in flight (call once the workers are closed). */
  async close(): Promise<void> {
    await Promise.all(this.pending);
  }
}
