/**
 * When BullMQ gives up on a chunk job without our processor finishing it (its worker died more often
 * than `maxStalledCount` allows, or the processor itself crashed on the last attempt), the job lands in
 * the failed set and nobody would ever record its items. The reaper listens for such failures and
 * records the chunk's unfinished items as CHUNK_LOST, so the workload still ends. Several reapers may
 * see the same event; recording is idempotent, so that is harmless. A windowed workload's chunk is then
 * also marked done, so that its next chunks are fed (core/chunk-feeder.ts).
 */
import { Job, Queue, QueueEvents } from 'bullmq';
import type { RedisClient } from '../core/redis-connection';
import type { Logger } from 'pino';
import type { ChunkFeeder } from '../core/chunk-feeder';
import { ItemErrorCode } from '../core/errors';
import type { Keys, QueueKind } from '../core/keys';
import type { WorkloadStore } from '../core/workload-store';
import { chunkItemCount, type ChunkJobData } from '../core/workload';

export class LostChunkReaper {
  private readonly events: QueueEvents;
  private readonly queue: Queue<ChunkJobData>;
  private closed = false;

  constructor(
    private readonly kind: QueueKind,
    connection: RedisClient,
    keys: Keys,
    private readonly store: WorkloadStore,
    private readonly logger: Logger,
    private readonly feeder?: ChunkFeeder,
  ) {
    this.queue = new Queue<ChunkJobData>(keys.queueName(kind), { connection, prefix: keys.bullPrefix });
    this.events = new QueueEvents(keys.queueName(kind), { connection: connection.duplicate(), prefix: keys.bullPrefix });
    this.events.on('error', (error) => logger.warn({ err: error }, 'queue events error'));
    this.events.on('failed', ({ jobId, failedReason }) => {
      this.reap(jobId, failedReason).catch((error) => logger.error({ err: error, jobId }, 'could not record a lost chunk'));
    });
  }

  private async reap(jobId: string, failedReason: string): Promise<void> {
    const job = await Job.fromId<ChunkJobData>(this.queue, jobId);
    // Only a job that is failed for good; one that will be retried is not lost.
    if (!job?.data || (await job.getState()) !== 'failed') return;
    const data = job.data;
    const count = chunkItemCount(data);
    const unfinished = await this.store.unfinishedIndexes(
      data.workloadId,
      Array.from({ length: count }, (_, offset) => data.start + offset),
    );
    if (unfinished.length > 0) {
      const message = `The chunk was given up after failing: ${failedReason}`;
      await this.store.recordItems(
        data.workloadId,
        unfinished.map((index) => ({ index, ok: false as const, code: ItemErrorCode.CHUNK_LOST, message })),
      );
      this.logger.warn({ workloadId: data.workloadId, chunkIndex: data.chunkIndex, items: unfinished.length, queue: this.kind }, 'recorded a lost chunk');
    }
    // The chunk is over for good: its window slot goes to the workload's next chunk.
    if (data.windowed) await this.feeder?.chunkFinished(data.workloadId, data.chunkIndex);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.events.close();
    await this.queue.close();
  }
}
