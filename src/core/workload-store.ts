/**
 * A workload's state, results and errors in Redis, and the only code that changes them.
 *
 * Exactly-once counting: BullMQ may run a chunk more than once (a retry, a stalled worker that comes
 * back). Every item is written with "set if this index has no outcome yet", and the counters grow by
 * what was actually new, in the same Lua script. So a re-run or a stale completion changes nothing,
 * `completed + failed` never passes `total`, and the last item's write is the one that ends the workload.
 */
import type { Redis } from 'ioredis';
import type { Keys } from './keys';
import type { ReduceOperation } from './reduce';
import {
  FINAL_STATUSES,
  type ItemErrorView,
  type ItemOutcome,
  type WorkloadRecord,
  type WorkloadStatus,
  type WorkloadType,
} from './workload';

const RECORD_ITEMS = `
local meta, results, errors = KEYS[1], KEYS[2], KEYS[3]
local now, ttl, channel, doneChannel = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4]
local status = redis.call('HGET', meta, 'status')
if not status then return {'missing', 0, 0} end
if status == 'cancelled' or status == 'completed' or status == 'failed' then return {status, 0, 0} end
local okCount, errorCount, parts = 0, 0, {}
for i = 5, #ARGV, 3 do
  local index, kind, payload = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  if redis.call('HEXISTS', results, index) == 0 and redis.call('HEXISTS', errors, index) == 0 then
    if kind == 'ok' then
      redis.call('HSET', results, index, payload)
      okCount = okCount + 1
      parts[#parts + 1] = '{"index":' .. index .. ',"value":' .. payload .. '}'
    else
      redis.call('HSET', errors, index, payload)
      errorCount = errorCount + 1
      parts[#parts + 1] = '{"index":' .. index .. ',"value":null,"error":' .. payload .. '}'
    end
  end
end
if okCount + errorCount == 0 then return {status, 0, 0} end
local completed = redis.call('HINCRBY', meta, 'completed', okCount)
local failed = redis.call('HINCRBY', meta, 'failed', errorCount)
if status == 'queued' then
  redis.call('HSET', meta, 'status', 'running', 'startedAt', now)
  status = 'running'
end
local total = tonumber(redis.call('HGET', meta, 'total'))
if completed + failed >= total then
  if failed > 0 then status = 'failed' else status = 'completed' end
  redis.call('HSET', meta, 'status', status, 'finishedAt', now)
  redis.call('PUBLISH', doneChannel, status)
end
redis.call('EXPIRE', meta, ttl)
redis.call('EXPIRE', results, ttl)
redis.call('EXPIRE', errors, ttl)
redis.call('PUBLISH', channel, '{"type":"items","status":"' .. status .. '","completed":' .. completed ..
  ',"failed":' .. failed .. ',"total":' .. total .. ',"items":[' .. table.concat(parts, ',') .. ']}')
return {status, okCount, errorCount}
`;

const MARK_RUNNING = `
local status = redis.call('HGET', KEYS[1], 'status')
if status == 'queued' then
  redis.call('HSET', KEYS[1], 'status', 'running', 'startedAt', ARGV[1])
  redis.call('PUBLISH', ARGV[2], '{"type":"status","status":"running"}')
  return 'running'
end
return status or 'missing'
`;

const CANCEL = `
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return 'missing' end
if status == 'completed' or status == 'failed' or status == 'cancelled' then return status end
redis.call('HSET', KEYS[1], 'status', 'cancelled', 'finishedAt', ARGV[1])
redis.call('PUBLISH', ARGV[2], '{"type":"status","status":"cancelled"}')
redis.call('PUBLISH', ARGV[3], ARGV[4])
redis.call('PUBLISH', ARGV[5], 'cancelled')
return 'cancelled-now'
`;

/** What `cancel` found: the workload was cancelled by this call, or already final, or not there. */
export type CancelOutcome = 'cancelled-now' | 'cancelled' | 'completed' | 'failed' | 'missing';

/** An event published on a workload's channel. */
export type WorkloadEvent =
  | {
      type: 'items';
      status: WorkloadStatus;
      completed: number;
      failed: number;
      total: number;
      items: Array<{ index: number; value: unknown; error?: { code: string; message: string } }>;
    }
  | { type: 'status'; status: WorkloadStatus };

type ScriptedRedis = Redis & {
  chunkmillRecordItems(...args: Array<string | number>): Promise<[string, number, number]>;
  chunkmillMarkRunning(...args: Array<string | number>): Promise<string>;
  chunkmillCancel(...args: Array<string | number>): Promise<string>;
};

function defineScripts(redis: Redis): ScriptedRedis {
  const scripted = redis as ScriptedRedis;
  if (typeof scripted.chunkmillRecordItems !== 'function') {
    redis.defineCommand('chunkmillRecordItems', { numberOfKeys: 3, lua: RECORD_ITEMS });
    redis.defineCommand('chunkmillMarkRunning', { numberOfKeys: 1, lua: MARK_RUNNING });
    redis.defineCommand('chunkmillCancel', { numberOfKeys: 1, lua: CANCEL });
  }
  return scripted;
}

const optionalNumber = (value: string | undefined): number | undefined =>
  value === undefined || value === '' ? undefined : Number(value);

function parseRecord(fields: Record<string, string>): WorkloadRecord | undefined {
  if (!fields.id) return undefined;
  return {
    id: fields.id,
    type: fields.type as WorkloadType,
    task: fields.task || undefined,
    status: fields.status as WorkloadStatus,
    total: Number(fields.total),
    completed: Number(fields.completed ?? 0),
    failed: Number(fields.failed ?? 0),
    chunks: Number(fields.chunks),
    chunkSize: Number(fields.chunkSize),
    attempts: Number(fields.attempts),
    priority: Number(fields.priority),
    timeoutMs: optionalNumber(fields.timeoutMs),
    reduce: (fields.reduce || undefined) as ReduceOperation | undefined,
    createdAt: Number(fields.createdAt),
    startedAt: optionalNumber(fields.startedAt),
    finishedAt: optionalNumber(fields.finishedAt),
  };
}

function serializeRecord(record: WorkloadRecord): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const [key, value] of Object.entries(record)) {
    if (value !== undefined) fields[key] = String(value);
  }
  return fields;
}

/** Workloads a store remembers as seen running (see isKnownRunning); the oldest are forgotten first. */
const KNOWN_RUNNING_LIMIT = 1000;

export class WorkloadStore {
  private readonly redis: ScriptedRedis;
  /** Workloads this process saw in status `running`, oldest first (a Set keeps insertion order). */
  private readonly knownRunning = new Set<string>();

  constructor(
    redis: Redis,
    private readonly keys: Keys,
    private readonly resultTtlSeconds: number,
  ) {
    this.redis = defineScripts(redis);
  }

  /** Writes a new workload (status `queued`) and lists it in the index. */
  async create(record: WorkloadRecord): Promise<void> {
    const { meta } = this.keys.workload(record.id);
    await this.redis
      .multi()
      .hset(meta, serializeRecord(record))
      .expire(meta, this.resultTtlSeconds)
      .exec()
      .then(throwOnTransactionError);
    await this.redis.zadd(this.keys.workloadIndex, record.createdAt, record.id);
  }

  /** Removes every trace of a workload: used to roll back a submission that could not be enqueued. */
  async remove(id: string): Promise<void> {
    const keys = this.keys.workload(id);
    await this.redis.del(keys.meta, keys.results, keys.errors);
    await this.redis.zrem(this.keys.workloadIndex, id);
  }

  async get(id: string): Promise<WorkloadRecord | undefined> {
    return parseRecord(await this.redis.hgetall(this.keys.workload(id).meta));
  }

  async status(id: string): Promise<WorkloadStatus | undefined> {
    return ((await this.redis.hget(this.keys.workload(id).meta, 'status')) ?? undefined) as WorkloadStatus | undefined;
  }

  /** Newest first. Ids whose workload expired are dropped from the index on the way. */
  async list(options: { status?: WorkloadStatus; limit: number }): Promise<WorkloadRecord[]> {
    const found: WorkloadRecord[] = [];
    const pageSize = Math.max(options.limit, 100);
    for (let offset = 0; found.length < options.limit; offset += pageSize) {
      const ids = await this.redis.zrevrange(this.keys.workloadIndex, offset, offset + pageSize - 1);
      if (ids.length === 0) break;
      const pipeline = this.redis.pipeline();
      for (const id of ids) pipeline.hgetall(this.keys.workload(id).meta);
      const replies = (await pipeline.exec()) ?? [];
      const expired: string[] = [];
      replies.forEach(([error, fields], position) => {
        const record = error ? undefined : parseRecord(fields as Record<string, string>);
        if (!record) expired.push(ids[position]);
        else if (!options.status || record.status === options.status) found.push(record);
      });
      if (expired.length > 0) await this.redis.zrem(this.keys.workloadIndex, ...expired);
      if (ids.length < pageSize) break;
    }
    return found.slice(0, options.limit);
  }

  /** Moves a queued workload to running; answers the status it now has ('missing' if it is gone). */
  async markRunning(id: string, now = Date.now()): Promise<WorkloadStatus | 'missing'> {
    const keys = this.keys.workload(id);
    const status = (await this.redis.chunkmillMarkRunning(keys.meta, now, keys.events)) as WorkloadStatus | 'missing';
    this.noteStatus(id, status);
    return status;
  }

  /**
   * True when this store has seen the workload `running` (marked it, or recorded items of it): a worker
   * then need not mark it again for each of its chunks. Only ever a shortcut: a workload remembered
   * here may have become final since, which recording finds out anyway.
   */
  isKnownRunning(id: string): boolean {
    return this.knownRunning.has(id);
  }

  private noteStatus(id: string, status: WorkloadStatus | 'missing'): void {
    if (status !== 'running') {
      this.knownRunning.delete(id);
      return;
    }
    if (this.knownRunning.has(id)) return;
    this.knownRunning.add(id);
    if (this.knownRunning.size > KNOWN_RUNNING_LIMIT) this.knownRunning.delete(this.knownRunning.values().next().value as string);
  }

  /**
   * Records finished items, each at most once, and ends the workload when the last one lands.
   * Answers how many of these items were new, and the workload's status afterwards.
   */
  async recordItems(
    id: string,
    outcomes: ItemOutcome[],
    now = Date.now(),
  ): Promise<{ status: WorkloadStatus | 'missing'; newlyCompleted: number; newlyFailed: number }> {
    const keys = this.keys.workload(id);
    const args: Array<string | number> = [keys.meta, keys.results, keys.errors, now, this.resultTtlSeconds, keys.events, keys.done];
    for (const outcome of outcomes) {
      if (outcome.ok) args.push(outcome.index, 'ok', JSON.stringify(outcome.value ?? null));
      else args.push(outcome.index, 'error', JSON.stringify({ code: outcome.code, message: outcome.message }));
    }
    const [status, newlyCompleted, newlyFailed] = await this.redis.chunkmillRecordItems(...args);
    this.noteStatus(id, status as WorkloadStatus | 'missing');
    return { status: status as WorkloadStatus | 'missing', newlyCompleted, newlyFailed };
  }

  /** Of the given item indexes, those that have no outcome yet (a retried chunk skips the rest). */
  async unfinishedIndexes(id: string, indexes: number[]): Promise<number[]> {
    return (await this.beginChunk(id, indexes, { markRunning: false })).unfinished;
  }

  /**
   * What a chunk does first, in one round trip: move the workload to running (answering its status)
   * and find which of the chunk's items are still unfinished.
   */
  async beginChunk(
    id: string,
    indexes: number[],
    options: { markRunning?: boolean; now?: number } = {},
  ): Promise<{ status: WorkloadStatus | 'missing' | undefined; unfinished: number[] }> {
    const keys = this.keys.workload(id);
    const pipeline = this.redis.pipeline() as ReturnType<Redis['pipeline']> & { chunkmillMarkRunning(...args: Array<string | number>): unknown };
    const markRunning = options.markRunning ?? true;
    if (markRunning) pipeline.chunkmillMarkRunning(keys.meta, options.now ?? Date.now(), keys.events);
    if (indexes.length > 0) {
      pipeline.hmget(keys.results, ...indexes.map(String));
      pipeline.hmget(keys.errors, ...indexes.map(String));
    }
    const replies = ((await pipeline.exec()) ?? []) as Array<[Error | null, unknown]>;
    const failed = replies.find(([error]) => error);
    if (failed) throw failed[0];
    const status = markRunning ? (replies.shift()![1] as WorkloadStatus | 'missing') : undefined;
    if (indexes.length === 0) return { status, unfinished: [] };
    const [[, results], [, errors]] = replies as [[null, Array<string | null>], [null, Array<string | null>]];
    return { status, unfinished: indexes.filter((_, position) => results[position] === null && errors[position] === null) };
  }

  /** Cancels a workload that is still queued or running, and tells every worker to stop its items. */
  async cancel(id: string, now = Date.now()): Promise<CancelOutcome> {
    const keys = this.keys.workload(id);
    return (await this.redis.chunkmillCancel(keys.meta, now, keys.events, this.keys.cancelChannel, id, keys.done)) as CancelOutcome;
  }

  /** Every item's outcome: `results[i]` answers item i (null until it succeeds), errors by index. */
  async readOutcomes(record: WorkloadRecord): Promise<{ results: unknown[]; errors: ItemErrorView[] }> {
    const keys = this.keys.workload(record.id);
    const [[, resultFields], [, errorFields]] = (await this.redis
      .pipeline()
      .hgetall(keys.results)
      .hgetall(keys.errors)
      .exec()) as [[Error | null, Record<string, string>], [Error | null, Record<string, string>]];
    const results: unknown[] = new Array(record.total).fill(null);
    for (const [index, json] of Object.entries(resultFields)) results[Number(index)] = JSON.parse(json);
    const errors = Object.entries(errorFields)
      .map(([index, json]) => ({ index: Number(index), ...(JSON.parse(json) as { code: string; message: string }) }))
      .sort((a, b) => a.index - b.index);
    return { results, errors };
  }

  isFinal(status: WorkloadStatus | 'missing'): boolean {
    return status === 'missing' || FINAL_STATUSES.has(status);
  }
}

function throwOnTransactionError(replies: Array<[Error | null, unknown]> | null): void {
  if (!replies) throw new Error('Redis transaction was aborted');
  for (const [error] of replies) if (error) throw error;
}
