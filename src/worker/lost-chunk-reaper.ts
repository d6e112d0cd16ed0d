/**
 * When BullMQ gives up on a chunk job without our processor finishing it (its worker died more often
 * than `maxStalledCount` allows, or the processor itself crashed on the last attempt), the job lands in
 * the failed set and nobody would ever record its items. The reaper looks at the failed set every
 * `pollMs` and records the unfinished items of each chunk newly there as CHUNK_LOST, so the workload
 * still ends. Several reapers may see the same job; recording is idempotent, so that is harmless.
 *
 * Why it polls the failed set rather than listen to the queue's event stream: a stream listener reads
 * every event of every job (added, active, completed...), about 100 µs of CPU per chunk job in the host's
 * primary process for the rare failure; a look at the failed set every second costs nothing per job.
 * Losing a chunk already takes a stall interval to notice (30 s by default), so a second more is nothing.
 * The first look after a start reads the whole failed set, so failures while no host ran are reaped too.
 * A windowed workload's chunk is then also marked done, so that its next chunks are fed (core/chunk-feeder.ts).
 * A reap that Redis refused (full, failing over) is tried again at every look until it sticks; the
 * reconciler reaps too, should a failed chunk's items still be missing (worker/workload-reconciler.ts).
 */
import { Job, Queue } from 'bullmq';
import type { RedisClient } from '../core/redis-connection';
import type { Logger } from 'pino';
import { REDIS_NOISE } from '../core/logger';
import type { ChunkFeeder } from '../core/chunk-feeder';
import { ItemErrorCode } from '../core/errors';
import type { Keys, QueueKind } from '../core/keys';
import type { WorkloadStore } from '../core/workload-store';
import { chunkPosition } from '../core/results-packing';
import type { ChunkJobData } from '../core/workload';

export interface LostChunkReaperOptions {
  /** How often the failed set is looked at. @defaultValue 1000 */
  pollMs?: number;
}

/**
 * Failed jobs are looked at again while their failure time is this recent: hosts' clocks may disagree
 * (BullMQ stamps failures with the failing worker's clock), so a failure may land a little in the past.
 */
const CLOCK_SLACK_MS = 60_000;
/** Failed jobs read per Redis call. */
const PAGE = 500;

export class LostChunkReaper {
  private readonly queue: Queue<ChunkJobData>;
  private readonly timer: NodeJS.Timeout;
  /** Failed jobs already reaped → their failure time; forgotten once older than the slack. */
  private readonly seen = new Map<string, number>();
  /** Failed jobs whose reap failed: tried again at every look, whatever their failure time. */
  private readonly unreaped = new Set<string>();
  /** Failure times from here on are looked at (0: the whole set, on the first look). */
  private since = 0;
  private sweeping?: Promise<void>;
  private closed = false;

  constructor(
    private readonly kind: QueueKind,
    private readonly connection: RedisClient,
    keys: Keys,
    private readonly store: WorkloadStore,
    private readonly logger: Logger,
    private readonly feeder?: ChunkFeeder,
    options: LostChunkReaperOptions = {},
  ) {
    this.queue = new Queue<ChunkJobData>(keys.queueName(kind), { connection, prefix: keys.bullPrefix });
    this.timer = setInterval(() => {
      this.sweeping ??= this.sweep()
        .catch((error) => logger.warn({ err: error, queue: kind, ...REDIS_NOISE }, 'could not look for lost chunks'))
        .finally(() => (this.sweeping = undefined));
    }, options.pollMs ?? 1000);
  }

  /** Reaps every failed job not reaped yet. */
  private async sweep(): Promise<void> {
    const started = Date.now();
    for (const jobId of [...this.unreaped]) await this.reapById(jobId);
    for (let offset = 0; !this.closed; offset += PAGE) {
      const page = await this.connection.zrangebyscore(this.queue.keys.failed, this.since, '+inf', 'WITHSCORES', 'LIMIT', offset, PAGE);
      for (let i = 0; i < page.length; i += 2) {
        const [jobId, failedAt] = [page[i], Number(page[i + 1])];
        if (this.seen.has(jobId) || this.unreaped.has(jobId)) continue;
        this.seen.set(jobId, failedAt);
        await this.reapById(jobId);
      }
      if (page.length < PAGE * 2) break;
    }
    this.since = started - CLOCK_SLACK_MS;
    for (const [jobId, failedAt] of this.seen) if (failedAt < this.since) this.seen.delete(jobId);
  }

  private async reapById(jobId: string): Promise<void> {
    try {
      const job = await Job.fromId<ChunkJobData>(this.queue, jobId);
      if (job) await reapFailedChunk(job, { store: this.store, feeder: this.feeder, logger: this.logger, queue: this.kind });
      this.unreaped.delete(jobId);
    } catch (error) {
      this.unreaped.add(jobId);
      this.logger.warn({ err: error, jobId, ...REDIS_NOISE }, 'could not record a lost chunk yet; trying again');
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    await this.sweeping;
    await this.queue.close();
  }
}

export interface ReapDeps {
  store: WorkloadStore;
  feeder?: ChunkFeeder;
  logger: Logger;
  queue: QueueKind;
}

/**
 * Records the unfinished items of a chunk that BullMQ gave up on as CHUNK_LOST (so that its workload
 * still ends), and marks a windowed chunk done. Idempotent: items with an outcome are left as they are.
 */
export async function reapFailedChunk(job: Job<ChunkJobData>, deps: ReapDeps): Promise<void> {
  // Only a job that is failed for good; one that will be retried is not lost.
  if (!job.data || (await job.getState()) !== 'failed') return;
  await recordLostChunk(job, deps);
}

/** reapFailedChunk for a job whose state the caller has just read as failed: no second look at it. */
export async function recordLostChunk(job: Job<ChunkJobData>, deps: ReapDeps): Promise<void> {
  const data = job.data;
  if (!data) return;
  const chunk = chunkPosition(data);
  const unfinished = await deps.store.unfinishedItems(data.workloadId, chunk);
  if (unfinished.length > 0) {
    const message = `The chunk was given up after failing: ${job.failedReason}`;
    await deps.store.recordChunk(
      data.workloadId,
      chunk,
      unfinished.map((index) => ({ index, ok: false as const, code: ItemErrorCode.CHUNK_LOST, message })),
    );
    deps.logger.warn({ workloadId: data.workloadId, chunkIndex: data.chunkIndex, items: unfinished.length, queue: deps.queue }, 'recorded a lost chunk');
  }
  // The chunk is over for good: its window slot goes to the workload's next chunk.
  if (data.windowed) await deps.feeder?.chunkFinished(data.workloadId, data.chunkIndex);
}
