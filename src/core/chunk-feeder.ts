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
 * BullMQ's order holds: a more urgent workload's chunks go first (see README, "Fair share").
 *
 * Crash safety (no chunk is ever lost; none runs twice in the normal case):
 *   claim (Lua, one workload's slot: mark the finished chunk done, and if the window has room, advance
 *          `next` past the chunks it hands out and answer their payloads)
 *     ─▶ addBulk of those chunks, with deterministic job ids (`${id}-${chunk}`)
 * Claiming in the same script that counts makes concurrent feeders (several worker processes) hand out
 * disjoint chunks, so a workload never has more than W jobs in Redis. A crash between claim and add
 * leaves claimed chunks without a job: the sweep (`sweep`, run by every worker host's primary) finds fed
 * chunks that are neither done nor in the queue, twice in a row (so that an add or a mark on its way is
 * not mistaken for a loss), and adds them again. Should a chunk still run twice (it was re-added while
 * its worker was only frozen), recording is exactly-once per item index (workload-store.ts), so no result
 * changes. A chunk is marked done only once its job has completed (or by the lost-chunk reaper), so a
 * mark never hides unfinished work. The sweep also tops up what a dead worker did not.
 *
 * A cancelled or finished workload is never fed: the claim reads its status in the same script, and
 * deletes its payloads.
 */
import { execOrThrow, type RedisClient } from './redis-connection';
import type { JobsOptions } from 'bullmq';
import type { Keys, QueueKind } from './keys';
import type { ChunkQueues } from './queues';
import { chunkJobId, type ChunkJobData } from './workload';

const PLAN = `
local meta, feed, chunks, done = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local finished, ttl = tonumber(ARGV[1]), tonumber(ARGV[2])
if finished >= 0 and redis.call('SETBIT', done, finished, 1) == 0 then
  redis.call('HINCRBY', feed, 'done', 1)
end
local status = redis.call('HGET', meta, 'status')
if status ~= 'queued' and status ~= 'running' then
  redis.call('DEL', chunks)
  return {-1}
end
local f = redis.call('HMGET', feed, 'next', 'done', 'window', 'chunks', 'type', 'jobOptions')
local nextChunk, doneCount, window, total = tonumber(f[1]), tonumber(f[2]), tonumber(f[3]), tonumber(f[4])
if not nextChunk then return {-1} end
redis.call('EXPIRE', feed, ttl)
redis.call('EXPIRE', chunks, ttl)
redis.call('EXPIRE', done, ttl)
local queued = nextChunk - doneCount
if nextChunk >= total or queued > math.floor(window / 2) then return {nextChunk} end
local want = math.min(window - queued, total - nextChunk)
redis.call('HSET', feed, 'next', nextChunk + want)
local fields = {}
for i = 0, want - 1 do fields[#fields + 1] = nextChunk + i end
local reply = {nextChunk, f[5], f[6]}
for _, payload in ipairs(redis.call('HMGET', chunks, unpack(fields))) do reply[#reply + 1] = payload end
return reply
`;

/** Fed chunks (index below `next`) not marked done, at most ARGV[1] of them; and `next` first. */
const UNFINISHED_FED = `
local nextChunk = tonumber(redis.call('HGET', KEYS[1], 'next'))
if not nextChunk then return {-1} end
local limit, found, position = tonumber(ARGV[1]), {nextChunk}, 0
while position < nextChunk and #found <= limit do
  local zero = redis.call('BITPOS', KEYS[2], 0, math.floor(position / 8))
  if zero < 0 or zero >= nextChunk then break end
  if zero < position then zero = position end
  local byteEnd = math.min((math.floor(zero / 8) + 1) * 8, nextChunk)
  for bit = zero, byteEnd - 1 do
    if redis.call('GETBIT', KEYS[2], bit) == 0 then found[#found + 1] = bit end
  end
  position = byteEnd
end
return found
`;

type ScriptedRedis = RedisClient & {
  chunkmillFeedPlan(...args: Array<string | number>): Promise<Array<number | string | null>>;
  chunkmillUnfinishedFed(...args: Array<string | number>): Promise<number[]>;
};

/** Chunks whose payload goes in one HSET at submit: big enough to amortise, small enough to keep Redis responsive. */
const PAYLOAD_WRITE_BATCH = 100;
/** Workloads one sweep visits at most (oldest first), and fed chunks it checks per workload. */
const SWEEP_WORKLOADS = 1000;
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
  private readonly redis: ScriptedRedis;
  private readonly options: Required<ChunkFeederOptions>;
  /** One feed at a time per workload in this process: concurrent top-ups would only race each other. */
  private readonly feeding = new Map<string, Promise<void>>();
  /** Job ids the last sweep found missing; re-added if the next sweep finds them missing still. */
  private suspects = new Set<string>();

  constructor(
    redis: RedisClient,
    private readonly keys: Keys,
    private readonly queues: ChunkQueues,
    options: ChunkFeederOptions = {},
  ) {
    this.options = { windowChunks: 8, ttlSeconds: 24 * 60 * 60, ...options };
    this.redis = redis as ScriptedRedis;
    if (typeof this.redis.chunkmillFeedPlan !== 'function') {
      redis.defineCommand('chunkmillFeedPlan', { numberOfKeys: 4, lua: PLAN });
      redis.defineCommand('chunkmillUnfinishedFed', { numberOfKeys: 2, lua: UNFINISHED_FED });
    }
  }

  get windowChunks(): number {
    return this.options.windowChunks;
  }

  /** True when a workload of this many chunks is fed through the window rather than enqueued at once. */
  isWindowed(chunks: number): boolean {
    return chunks > this.options.windowChunks;
  }

  /**
   * Submits a windowed workload's chunks: every payload into its hash, the feeding state, then the
   * first window of jobs. The workload record must exist already (its status gates feeding).
   */
  async start(workloadId: string, type: QueueKind, jobs: ChunkJob[]): Promise<void> {
    const keys = this.keys.workload(workloadId);
    const ttl = this.options.ttlSeconds;
    const { jobId: _jobId, ...jobOptions } = jobs[0].opts;
    const first = Math.min(jobs.length, this.options.windowChunks);
    const pipeline = this.redis.pipeline();
    for (let offset = 0; offset < jobs.length; offset += PAYLOAD_WRITE_BATCH) {
      const fields: string[] = [];
      for (let index = offset; index < Math.min(jobs.length, offset + PAYLOAD_WRITE_BATCH); index++) {
        fields.push(String(index), JSON.stringify(jobs[index].data));
      }
      pipeline.hset(keys.chunks, ...fields);
    }
    pipeline
      .expire(keys.chunks, ttl)
      .hset(keys.feed, { next: first, done: 0, window: this.options.windowChunks, chunks: jobs.length, type, jobOptions: JSON.stringify(jobOptions) })
      .expire(keys.feed, ttl)
      // Allocated at full size now, so that the sweep's BITPOS never runs past the last chunk.
      .setbit(keys.doneChunks, jobs.length - 1, 0)
      .expire(keys.doneChunks, ttl);
    await execOrThrow(pipeline);
    await this.redis.zadd(this.keys.feedingIndex, Date.now(), workloadId);
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

  /** Adds the next chunks if the window has room (what the sweep does for each workload). */
  topUp(workloadId: string): Promise<void> {
    return this.serialized(workloadId, () => this.feed(workloadId, -1));
  }

  /** How many of the workload's chunks have been fed to the queue (all of them for a workload that is not windowed). */
  async fedChunks(workloadId: string, chunks: number): Promise<number> {
    const next = await this.redis.hget(this.keys.workload(workloadId).feed, 'next');
    return next === null ? chunks : Math.min(chunks, Number(next) + this.options.windowChunks);
  }

  /** Drops a workload's payloads and takes it off the sweep's list (cancelled, or rolled back). */
  async discard(workloadId: string): Promise<void> {
    const keys = this.keys.workload(workloadId);
    await this.redis.del(keys.chunks);
    await this.redis.zrem(this.keys.feedingIndex, workloadId);
  }

  /**
   * Repairs feeding that a crash interrupted: tops up every windowed workload still running, and re-adds
   * any fed chunk whose job is gone although the chunk was never marked done. Drops finished workloads
   * from the list. Safe to run anywhere, any number of times at once.
   */
  async sweep(): Promise<void> {
    const ids = await this.redis.zrange(this.keys.feedingIndex, 0, SWEEP_WORKLOADS - 1);
    const missing = new Set<string>();
    for (const id of ids) {
      await this.topUp(id);
      await this.repair(id, missing);
    }
    this.suspects = missing;
  }

  private async repair(workloadId: string, missingNow: Set<string>): Promise<void> {
    const keys = this.keys.workload(workloadId);
    const [next, ...unfinished] = await this.redis.chunkmillUnfinishedFed(keys.feed, keys.doneChunks, SWEEP_CHUNKS);
    if (next < 0 || unfinished.length === 0) return;
    const [type, jobOptions] = await this.redis.hmget(keys.feed, 'type', 'jobOptions');
    if (!type || !jobOptions) return;
    const queue = this.queues[type as QueueKind];
    const missing: number[] = [];
    for (const chunkIndex of unfinished) {
      const jobId = chunkJobId(workloadId, chunkIndex);
      if ((await queue.getJobState(jobId)) !== 'unknown') continue;
      missingNow.add(jobId);
      if (this.suspects.has(jobId)) missing.push(chunkIndex);
    }
    if (missing.length === 0) return;
    // Re-read the status through the plan's gate: a workload that ended meanwhile is not fed again.
    const status = await this.redis.hget(keys.meta, 'status');
    if (status !== 'queued' && status !== 'running') return;
    const payloads = await this.redis.hmget(keys.chunks, ...missing.map(String));
    await queue.addBulk(this.toJobs(workloadId, type, jobOptions, missing, payloads));
  }

  private async feed(workloadId: string, finishedChunk: number): Promise<void> {
    const keys = this.keys.workload(workloadId);
    let finished = finishedChunk;
    for (;;) {
      const reply = await this.redis.chunkmillFeedPlan(keys.meta, keys.feed, keys.chunks, keys.doneChunks, finished, this.options.ttlSeconds);
      finished = -1;
      const next = Number(reply[0]);
      if (next < 0) {
        await this.redis.zrem(this.keys.feedingIndex, workloadId);
        return;
      }
      if (reply.length <= 3) return;
      const [, type, jobOptions, ...payloads] = reply as [number, string, string, ...Array<string | null>];
      const indexes = payloads.map((_, offset) => next + offset);
      await this.queues[type as QueueKind].addBulk(this.toJobs(workloadId, type, jobOptions, indexes, payloads));
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

