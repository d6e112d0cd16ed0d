/**
 * Windowed feeding: backpressure and fair share in one mechanism.
 *
 * A workload with more chunks than the window (`CHUNKS_IN_QUEUE_PER_WORKLOAD`, W) does not become a pile
 * of jobs in Redis. At submit, every chunk's job data goes into the workload's own hash
 * (`wl:{id}:chunks`), and only the first W chunk jobs are added to the queue. Each time one of its
 * chunks finishes, the worker marks it done (a bitmap: each chunk counted once) and, when the workload's
 * jobs in the queue have dropped to W/2 or fewer, adds the next ones (a batch, so that feeding costs one
 * extra round trip per chunk, and an addBulk per W/2 chunks).
 *
 * Why that is fair: jobs are FIFO within a BullMQ priority and each workload holds at most W jobs in the
 * queue, so a newcomer waits behind at most W × (active workloads) chunks, not behind the whole backlog,
 * and equal-priority workloads share the workers in proportion to their windows. Between priorities,
 * BullMQ's order holds: a more urgent workload's chunks go first (see docs/architecture.md).
 *
 * Crash safety (no chunk is ever lost; none runs twice in the normal case):
 *   claim (Lua, one workload's slot: mark the finished chunk done, and if the window has room, advance
 *          `next` past the chunks it hands out and answer their payloads)
 *     ─▶ addBulk of those chunks, with deterministic job ids (`${id}-${chunk}`)
 * Claiming in the same script that counts makes concurrent feeders (several worker processes) hand out
 * disjoint chunks, so a workload never has more than W jobs in Redis. A crash between claim and add
 * leaves claimed chunks without a job: the reconciler (worker/workload-reconciler.ts, in every worker
 * host's primary) finds fed chunks that are neither done nor in the queue (`fedChunksWithoutJob`), twice
 * in a row (so that an add or a mark on its way is not mistaken for a loss), and adds them again
 * (`reAdd`). Should a chunk still run twice (it was re-added while its worker was only frozen),
 * recording is exactly-once per item index (workload-store.ts), so no result changes. A chunk is
 * marked done only once its job has completed (or by the lost-chunk reaper), so a mark never hides
 * unfinished work. The reconciler also tops up what a dead worker did not.
 *
 * A cancelled or finished workload is never fed: the claim reads its status in the same script, and
 * deletes its payloads.
 */
import { execOrThrow, type RedisClient } from './redis-connection';
import type { JobsOptions } from 'bullmq';
import type { Keys, QueueKind } from './keys';
import type { ChunkQueues } from './queues';
import { chunkJobId, type ChunkJobData } from './workload';
import { feedPlan, unfinishedFed } from './redis/feed-scripts';

/** Fed chunks not marked done that one look checks per workload. */
const SWEEP_CHUNKS = 1000;

/** One chunk job as BullMQ's addBulk takes it. */
export interface ChunkJob {
  name: string;
  data: ChunkJobData;
  opts: JobsOptions & { jobId: string };
}

export interface ChunkFeederOptions {
  /** Chunk jobs of one workload in Redis at once (CHUNKS_IN_QUEUE_PER_WORKLOAD). @defaultValue 8 */
  windowChunks?: number;
  /** How long the feeding state and payloads live at most (RESULT_TTL_SECONDS). @defaultValue 86400 */
  ttlSeconds?: number;
}

export class ChunkFeeder {
  private readonly options: Required<ChunkFeederOptions>;
  /** One feed at a time per workload in this process: concurrent top-ups would only race each other. */
  private readonly feeding = new Map<string, Promise<void>>();

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Keys,
    private readonly queues: ChunkQueues,
    options: ChunkFeederOptions = {},
  ) {
    this.options = { windowChunks: 8, ttlSeconds: 24 * 60 * 60, ...options };
  }

  get windowChunks(): number {
    return this.options.windowChunks;
  }

  /** True when a workload of this many chunks is fed through the window rather than enqueued at once. */
  isWindowed(chunks: number): boolean {
    return chunks > this.options.windowChunks;
  }

  /**
   * Starts feeding a windowed workload: the feeding state, then the first window of jobs. The workload
   * record and every chunk's payload must exist already (WorkloadStore.create: its status gates feeding).
   */
  async start(workloadId: string, type: QueueKind, jobs: ChunkJob[]): Promise<void> {
    const keys = this.keys.workload(workloadId);
    const ttl = this.options.ttlSeconds;
    const { jobId: _jobId, ...jobOptions } = jobs[0].opts;
    const first = Math.min(jobs.length, this.options.windowChunks);
    const pipeline = this.redis
      .pipeline()
      .hset(keys.feed, { next: first, done: 0, window: this.options.windowChunks, chunks: jobs.length, type, jobOptions: JSON.stringify(jobOptions) })
      .expire(keys.feed, ttl)
      // Allocated at full size now, so that BITPOS (feed-unfinished.lua) never runs past the last chunk.
      .setbit(keys.doneChunks, jobs.length - 1, 0)
      .expire(keys.doneChunks, ttl);
    await execOrThrow(pipeline);
    await this.queues[type].addBulk(jobs.slice(0, first));
  }

  /**
   * A chunk of a windowed workload finished (its items are recorded, or it was stopped): counts it once
   * and adds the next chunks when the workload's window has room. Throws when Redis could not be told,
   * so that the chunk's job runs again (it then runs no item, only this).
   */
  chunkFinished(workloadId: string, chunkIndex: number): Promise<void> {
    return this.serialized(workloadId, () => this.feed(workloadId, chunkIndex));
  }

  /** Adds the next chunks if the window has room (what the reconciler does for each workload). */
  topUp(workloadId: string): Promise<void> {
    return this.serialized(workloadId, () => this.feed(workloadId, -1));
  }

  /** How many of the workload's chunks have been fed to the queue (all of them for a workload that is not windowed). */
  async fedChunks(workloadId: string, chunks: number): Promise<number> {
    const next = await this.fedCount(workloadId);
    return next === undefined ? chunks : Math.min(chunks, next + this.options.windowChunks);
  }

  /**
   * Fed chunks of a windowed workload that are not marked done and have no job in the queue: a feeder
   * died between claiming them and adding their jobs, or a failover lost the jobs. Empty for a workload
   * that is not windowed. The caller re-adds them (`reAdd`) only when a later look finds them missing
   * still, so that an add on its way is not mistaken for a loss. `type`: the workload's queue.
   */
  async fedChunksWithoutJob(workloadId: string, type: QueueKind): Promise<number[]> {
    const keys = this.keys.workload(workloadId);
    const unfinished = (await unfinishedFed.run(this.redis, keys, { limit: SWEEP_CHUNKS }))?.unfinished ?? [];
    if (unfinished.length === 0) return [];
    const queue = this.queues[type];
    const states = await Promise.all(unfinished.map((chunkIndex) => queue.getJobState(chunkJobId(workloadId, chunkIndex))));
    return unfinished.filter((_, position) => states[position] === 'unknown');
  }

  /**
   * Adds the jobs of the given chunks again, from the payloads kept since submission, unless the workload
   * ended meanwhile. A chunk whose job exists already is left as it is (job ids are deterministic).
   */
  async reAdd(workloadId: string, type: QueueKind, jobOptions: JobsOptions, chunkIndexes: number[]): Promise<number> {
    const keys = this.keys.workload(workloadId);
    // Read through the same gate as the plan: a workload that ended meanwhile is not fed again.
    const status = await this.redis.hget(keys.meta, 'status');
    if (status !== 'queued' && status !== 'running') return 0;
    const payloads = await this.redis.hmget(keys.chunks, ...chunkIndexes.map(String));
    const jobs = this.toJobs(workloadId, type, JSON.stringify(jobOptions), chunkIndexes, payloads);
    if (jobs.length > 0) await this.queues[type].addBulk(jobs);
    return jobs.length;
  }

  /** How many of a windowed workload's chunks were fed so far; undefined for a workload that is not windowed. */
  async fedCount(workloadId: string): Promise<number | undefined> {
    const next = await this.redis.hget(this.keys.workload(workloadId).feed, 'next');
    return next === null ? undefined : Number(next);
  }

  private async feed(workloadId: string, finishedChunk: number): Promise<void> {
    const keys = this.keys.workload(workloadId);
    let finished = finishedChunk;
    for (;;) {
      const plan = await feedPlan.run(this.redis, keys, { finishedChunk: finished, ttlSeconds: this.options.ttlSeconds });
      finished = -1;
      // Ended or not windowed (the reconciler takes ended workloads off its list), or the window is full.
      if (plan.state !== 'claimed') return;
      const { first, type, jobOptions, payloads } = plan;
      const indexes = payloads.map((_, offset) => first + offset);
      await this.queues[type].addBulk(this.toJobs(workloadId, type, jobOptions, indexes, payloads));
      // Chunks that finished meanwhile may have made room again: claim once more (nothing when full).
    }
  }

  private toJobs(workloadId: string, type: string, jobOptions: string, indexes: number[], payloads: Array<string | null>): ChunkJob[] {
    const options = JSON.parse(jobOptions) as JobsOptions;
    const jobs: ChunkJob[] = [];
    payloads.forEach((payload, position) => {
      // A payload is only missing when the workload was removed meanwhile (a rolled-back submission).
      if (payload === null) return;
      jobs.push({ name: type, data: JSON.parse(payload) as ChunkJobData, opts: { ...options, jobId: chunkJobId(workloadId, indexes[position]) } });
    });
    return jobs;
  }

  private serialized(workloadId: string, run: () => Promise<void>): Promise<void> {
    const previous = this.feeding.get(workloadId) ?? Promise.resolve();
    const current = previous.catch(() => undefined).then(run);
    const tracked = current.finally(() => {
      if (this.feeding.get(workloadId) === tracked) this.feeding.delete(workloadId);
    });
    tracked.catch(() => undefined);
    this.feeding.set(workloadId, tracked);
    return current;
  }
}
