/**
 * A workload's state, results and errors in Redis, and the only code that changes them.
 *
 * Exactly-once counting: BullMQ may run a chunk more than once (a retry, a stalled worker that comes
 * back). Every item is written with "set if this index has no outcome yet", and the counters grow by
 * what was actually new, in the same Lua script. So a re-run or a stale completion changes nothing,
 * `completed + failed` never passes `total`, and the last item's write is the one that ends the workload.
 */
import { Cluster } from 'ioredis';
import { execOrThrow, type RedisClient } from './redis-connection';
import { ReplicaWait } from './replica-wait';
import type { Keys } from './keys';
import { OPEN_TENANT } from './tenants';
import type { ReduceOperation } from './reduce';
import {
  FINAL_STATUSES,
  type ItemErrorView,
  type ItemOutcome,
  type WorkloadRecord,
  type WorkloadStatus,
  type WorkloadType,
} from './workload';

/** Lua shared by the scripts that end a workload. */
const ANNOUNCE_FINAL = `
-- Announces a final status on the prefix's one finished channel too (keys.ts: finishedChannel), derived
-- from the workload's events channel so that the script's arguments stay as they are.
local function announceFinal(eventsChannel, finalStatus)
  local prefix, id = string.match(eventsChannel, '^(.*):wl:{([^}]*)}:events$')
  if prefix then redis.call('PUBLISH', prefix .. ':finished', '{"id":"' .. id .. '","status":"' .. finalStatus .. '"}') end
end
`;

const RECORD_ITEMS = `${ANNOUNCE_FINAL}
local meta, results, errors, chunks, requestHeaders = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local now, ttl, channel = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local status = redis.call('HGET', meta, 'status')
if not status then return {'missing', 0, 0} end
if status == 'cancelled' or status == 'completed' or status == 'failed' then return {status, 0, 0} end
local okCount, errorCount, parts = 0, 0, {}
for i = 4, #ARGV, 3 do
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
  -- Nothing of it will run again: its chunks' payloads (kept for the reconciler) and request headers can go.
  redis.call('DEL', chunks, requestHeaders)
end
redis.call('EXPIRE', meta, ttl)
redis.call('EXPIRE', results, ttl)
redis.call('EXPIRE', errors, ttl)
redis.call('PUBLISH', channel, '{"type":"items","status":"' .. status .. '","completed":' .. completed ..
  ',"failed":' .. failed .. ',"total":' .. total .. ',"items":[' .. table.concat(parts, ',') .. ']}')
if status == 'completed' or status == 'failed' then announceFinal(channel, status) end
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

const CANCEL = `${ANNOUNCE_FINAL}
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return 'missing' end
if status == 'completed' or status == 'failed' or status == 'cancelled' then return status end
redis.call('HSET', KEYS[1], 'status', 'cancelled', 'finishedAt', ARGV[1])
redis.call('DEL', KEYS[2], KEYS[3])
redis.call('PUBLISH', ARGV[2], '{"type":"status","status":"cancelled"}')
announceFinal(ARGV[2], 'cancelled')
redis.call('PUBLISH', ARGV[3], ARGV[4])
return 'cancelled-now'
`;

/**
 * Items [ARGV[1], ARGV[1] + ARGV[2]) of a workload's results (KEYS[2]) as JSON text, comma-separated
 * (`null` for an item without a result), up to the workload's total (read from KEYS[1]). The stored
 * values are JSON already: the producer splices them into its answer instead of parsing thousands of
 * small texts and writing them out again, and Redis sends one string instead of a field/value pair each.
 */
const RESULTS_JSON = `
local total = tonumber(redis.call('HGET', KEYS[1], 'total') or '0')
local from = tonumber(ARGV[1])
local parts = {}
for i = from, math.min(total, from + tonumber(ARGV[2])) - 1 do
  parts[#parts + 1] = redis.call('HGET', KEYS[2], i) or 'null'
end
return table.concat(parts, ',')
`;

/**
 * The chunks (of size ARGV[3]) among items [ARGV[1], ARGV[2]) that have at least one item without an
 * outcome, in order: what the reconciler checks against the queue when a workload stopped moving.
 */
const CHUNKS_MISSING_OUTCOMES = `
local results, errors = KEYS[1], KEYS[2]
local from, to, chunkSize = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local found, i = {}, from
while i < to do
  if redis.call('HEXISTS', results, i) == 0 and redis.call('HEXISTS', errors, i) == 0 then
    local chunk = math.floor(i / chunkSize)
    found[#found + 1] = chunk
    i = (chunk + 1) * chunkSize
  else
    i = i + 1
  end
end
return found
`;

/** Items one CHUNKS_MISSING_OUTCOMES call looks at: a few milliseconds of Redis at most. */
const MISSING_SCAN_PAGE = 20_000;

/** Results per RESULTS_JSON call: each call holds Redis for a few milliseconds at most. */
const RESULTS_JSON_PAGE = 10_000;

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

type ScriptedRedis = RedisClient & {
  chunkmillRecordItems(...args: Array<string | number>): Promise<[string, number, number]>;
  chunkmillMarkRunning(...args: Array<string | number>): Promise<string>;
  chunkmillCancel(...args: Array<string | number>): Promise<string>;
  chunkmillResultsJson(meta: string, results: string, from: number, count: number): Promise<string>;
  chunkmillChunksMissingOutcomes(results: string, errors: string, from: number, to: number, chunkSize: number): Promise<number[]>;
};

function defineScripts(redis: RedisClient): ScriptedRedis {
  const scripted = redis as ScriptedRedis;
  if (typeof scripted.chunkmillRecordItems !== 'function') {
    redis.defineCommand('chunkmillRecordItems', { numberOfKeys: 5, lua: RECORD_ITEMS });
    redis.defineCommand('chunkmillMarkRunning', { numberOfKeys: 1, lua: MARK_RUNNING });
    redis.defineCommand('chunkmillCancel', { numberOfKeys: 3, lua: CANCEL });
    redis.defineCommand('chunkmillResultsJson', { numberOfKeys: 2, lua: RESULTS_JSON });
    redis.defineCommand('chunkmillChunksMissingOutcomes', { numberOfKeys: 2, lua: CHUNKS_MISSING_OUTCOMES });
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
    acceptedAt: optionalNumber(fields.acceptedAt),
    tenant: fields.tenant || undefined,
  };
}

function serializeRecord(record: WorkloadRecord): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const [key, value] of Object.entries(record)) {
    if (value !== undefined) fields[key] = String(value);
  }
  return fields;
}

/** Chunk payloads per HSET at submission: big enough to amortise, small enough to keep Redis responsive. */
const PAYLOAD_WRITE_BATCH = 100;

/** Workloads a store remembers as seen running (see isKnownRunning); the oldest are forgotten first. */
const KNOWN_RUNNING_LIMIT = 1000;

export class WorkloadStore {
  private readonly redis: ScriptedRedis;
  /** Workloads this process saw in status `running`, oldest first (a Set keeps insertion order). */
  private readonly knownRunning = new Set<string>();

  constructor(
    redis: RedisClient,
    private readonly keys: Keys,
    private readonly resultTtlSeconds: number,
    /** Replicas an item's outcome must reach before recording answers (REDIS_WAIT_REPLICAS). */
    private readonly replicaWait = new ReplicaWait(),
  ) {
    this.redis = defineScripts(redis);
  }

  /**
   * Writes a new workload (status `queued`) with every chunk's job data (`chunkPayloads[i]`, JSON), and
   * lists it in the index and among the open workloads. The payloads outlive the jobs until the workload
   * ends, so that the reconciler can enqueue a chunk again whose job a failover lost. A fetch workload's
   * header sets (`headerSets[n]`, JSON; see request-headers.ts) go in the same transaction.
   */
  async create(record: WorkloadRecord, chunkPayloads: string[] = [], headerSets: string[] = []): Promise<void> {
    const { meta, chunks, requestHeaders } = this.keys.workload(record.id);
    const transaction = this.redis.multi().hset(meta, serializeRecord(record)).expire(meta, this.resultTtlSeconds);
    for (let offset = 0; offset < chunkPayloads.length; offset += PAYLOAD_WRITE_BATCH) {
      const fields: string[] = [];
      for (let index = offset; index < Math.min(chunkPayloads.length, offset + PAYLOAD_WRITE_BATCH); index++) {
        fields.push(String(index), chunkPayloads[index]);
      }
      transaction.hset(chunks, ...fields);
    }
    transaction.expire(chunks, this.resultTtlSeconds);
    if (headerSets.length > 0) {
      transaction.hset(requestHeaders, ...headerSets.flatMap((json, number) => [String(number), json])).expire(requestHeaders, this.resultTtlSeconds);
    }
    // Sent together (one round trip); the indexes are other slots, so they are not in the transaction.
    await Promise.all([
      execOrThrow(transaction),
      this.redis.zadd(this.keys.workloadIndex, record.createdAt, record.id),
      this.redis.zadd(this.keys.openWorkloads, record.createdAt, record.id),
    ]);
  }

  /**
   * Notes that the submission is whole (record and every first job written): from now on the reconciler
   * repairs it. Before, it may still be rolled back, and the reconciler leaves it alone for a while.
   */
  async markAccepted(id: string, now = Date.now()): Promise<void> {
    await this.redis.hset(this.keys.workload(id).meta, 'acceptedAt', now);
  }

  /** Waits until the submission's writes reached the replicas REDIS_WAIT_REPLICAS asks for (no-op at 0). */
  async waitForReplicas(id: string, queueKey: string): Promise<void> {
    const keys = [this.keys.workload(id).meta, queueKey, this.keys.workloadIndex, this.keys.openWorkloads];
    // One Redis holds them all: one WAIT covers every write of the connection.
    await this.replicaWait.afterWritesTo(this.redis, this.redis instanceof Cluster ? keys : keys.slice(0, 1));
  }

  /** The open workloads (accepted, not known to be final), oldest first, at most `limit`. */
  async openWorkloads(limit: number): Promise<string[]> {
    return this.redis.zrange(this.keys.openWorkloads, 0, limit - 1);
  }

  /** Takes a workload off the open list (it is final, or gone). */
  async closeOpen(id: string): Promise<void> {
    await this.redis.zrem(this.keys.openWorkloads, id);
  }

  /**
   * The chunks among the first `fedChunks` that have items without an outcome (at most `limit`), found
   * in pages so that a large workload never holds Redis for long.
   */
  async chunksMissingOutcomes(record: WorkloadRecord, fedChunks: number, limit: number): Promise<number[]> {
    const keys = this.keys.workload(record.id);
    const end = Math.min(record.total, fedChunks * record.chunkSize);
    const found: number[] = [];
    for (let from = 0; from < end && found.length < limit; from += MISSING_SCAN_PAGE) {
      found.push(...(await this.redis.chunkmillChunksMissingOutcomes(keys.results, keys.errors, from, Math.min(end, from + MISSING_SCAN_PAGE), record.chunkSize)));
    }
    return found.slice(0, limit);
  }

  /** Job data of the given chunks as written at submission (null where the payloads are gone). */
  async chunkPayloads(id: string, chunkIndexes: number[]): Promise<Array<string | null>> {
    if (chunkIndexes.length === 0) return [];
    return this.redis.hmget(this.keys.workload(id).chunks, ...chunkIndexes.map(String));
  }

  /** A fetch workload's header sets by number (null where gone): what a worker sends with a chunk's requests. */
  async requestHeaderSets(id: string, numbers: number[]): Promise<Map<number, string | null>> {
    if (numbers.length === 0) return new Map();
    const values = await this.redis.hmget(this.keys.workload(id).requestHeaders, ...numbers.map(String));
    return new Map(numbers.map((number, position) => [number, values[position]]));
  }

  /** Removes every trace of a workload: used to roll back a submission that could not be enqueued. */
  async remove(id: string): Promise<void> {
    const keys = this.keys.workload(id);
    // Each whatever the other does: on a Redis Cluster the index and the workload's keys may live on
    // different masters, and one of them being down must not keep the other from being cleaned.
    const outcomes = await Promise.allSettled([
      this.redis.del(keys.meta, keys.results, keys.errors, keys.chunks, keys.feed, keys.doneChunks, keys.requestHeaders),
      this.redis.zrem(this.keys.workloadIndex, id),
      this.redis.zrem(this.keys.openWorkloads, id),
    ]);
    for (const outcome of outcomes) if (outcome.status === 'rejected') throw outcome.reason;
  }

  async get(id: string): Promise<WorkloadRecord | undefined> {
    return parseRecord(await this.redis.hgetall(this.keys.workload(id).meta));
  }

  /** Whether the workload's record is still there: one EXISTS, what open streams check periodically. */
  async exists(id: string): Promise<boolean> {
    return (await this.redis.exists(this.keys.workload(id).meta)) === 1;
  }

  /** When the index says the workload was created (ms), or undefined when the index does not know it. */
  async indexedAt(id: string): Promise<number | undefined> {
    const score = await this.redis.zscore(this.keys.workloadIndex, id);
    return score === null ? undefined : Number(score);
  }

  /**
   * Whether a workload created at `createdAt` may have expired by `now`. Its record is written with the
   * result TTL and every recording renews it, so it lives at least until createdAt + TTL: a record
   * missing before then did not expire, it was lost (see producer/missing-workloads.ts).
   */
  mayHaveExpired(createdAt: number, now = Date.now()): boolean {
    return now >= createdAt + this.resultTtlSeconds * 1000;
  }

  async status(id: string): Promise<WorkloadStatus | undefined> {
    return ((await this.redis.hget(this.keys.workload(id).meta, 'status')) ?? undefined) as WorkloadStatus | undefined;
  }

  /**
   * Newest first; with `tenant`, only that tenant's (the index is shared, so a tenant's listing pages
   * past other tenants' workloads). Ids whose workload expired are dropped from the index on the way;
   * an id whose record is gone before it could have expired (lost) is skipped but kept until then, so
   * that the index can still tell a lost workload from one that never existed.
   */
  async list(options: { status?: WorkloadStatus; limit: number; tenant?: string }): Promise<WorkloadRecord[]> {
    const found: WorkloadRecord[] = [];
    const pageSize = Math.max(options.limit, 100);
    for (let offset = 0; found.length < options.limit; offset += pageSize) {
      const idsAndScores = await this.redis.zrevrange(this.keys.workloadIndex, offset, offset + pageSize - 1, 'WITHSCORES');
      const ids = idsAndScores.filter((_, position) => position % 2 === 0);
      const createdAt = idsAndScores.filter((_, position) => position % 2 === 1).map(Number);
      if (ids.length === 0) break;
      // Not one pipeline: each workload's keys live in their own slot (on a cluster, on any node). The
      // reads are sent together all the same, since the client writes each command without waiting.
      // A read that fails fails the listing: an unreachable workload is not an expired one.
      const replies = await Promise.all(ids.map((id) => this.redis.hgetall(this.keys.workload(id).meta)));
      const expired: string[] = [];
      const now = Date.now();
      replies.forEach((fields, position) => {
        const record = parseRecord(fields);
        if (!record) {
          if (this.mayHaveExpired(createdAt[position], now)) expired.push(ids[position]);
        } else if ((!options.status || record.status === options.status) && (options.tenant === undefined || (record.tenant ?? OPEN_TENANT) === options.tenant)) {
          found.push(record);
        }
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
    const args: Array<string | number> = [keys.meta, keys.results, keys.errors, keys.chunks, keys.requestHeaders, now, this.resultTtlSeconds, keys.events];
    for (const outcome of outcomes) {
      if (outcome.ok) args.push(outcome.index, 'ok', JSON.stringify(outcome.value ?? null));
      else args.push(outcome.index, 'error', JSON.stringify({ code: outcome.code, message: outcome.message }));
    }
    const [status, newlyCompleted, newlyFailed] = await this.recordItemsScript(args);
    this.noteStatus(id, status as WorkloadStatus | 'missing');
    return { status: status as WorkloadStatus | 'missing', newlyCompleted, newlyFailed };
  }

  /** The recording script, with a WAIT for replicas behind it in the same round trip when asked for. */
  private async recordItemsScript(args: Array<string | number>): Promise<[string, number, number]> {
    if (!this.replicaWait.enabled) return this.redis.chunkmillRecordItems(...args);
    const pipeline = this.redis.pipeline() as ReturnType<RedisClient['pipeline']> & { chunkmillRecordItems(...args: Array<string | number>): unknown };
    pipeline.chunkmillRecordItems(...args);
    this.replicaWait.append(pipeline);
    const [reply, acknowledged] = await execOrThrow(pipeline);
    this.replicaWait.check(acknowledged);
    return reply as [string, number, number];
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
    const pipeline = this.redis.pipeline() as ReturnType<RedisClient['pipeline']> & { chunkmillMarkRunning(...args: Array<string | number>): unknown };
    const markRunning = options.markRunning ?? true;
    if (markRunning) pipeline.chunkmillMarkRunning(keys.meta, options.now ?? Date.now(), keys.events);
    if (indexes.length > 0) {
      pipeline.hmget(keys.results, ...indexes.map(String));
      pipeline.hmget(keys.errors, ...indexes.map(String));
    }
    const replies = await execOrThrow(pipeline);
    const status = markRunning ? (replies.shift() as WorkloadStatus | 'missing') : undefined;
    if (indexes.length === 0) return { status, unfinished: [] };
    const [results, errors] = replies as [Array<string | null>, Array<string | null>];
    return { status, unfinished: indexes.filter((_, position) => results[position] === null && errors[position] === null) };
  }

  /** Cancels a workload that is still queued or running, and tells every worker to stop its items. */
  async cancel(id: string, now = Date.now()): Promise<CancelOutcome> {
    const keys = this.keys.workload(id);
    return (await this.redis.chunkmillCancel(keys.meta, keys.chunks, keys.requestHeaders, now, keys.events, this.keys.cancelChannel, id)) as CancelOutcome;
  }

  /** Every item's outcome: `results[i]` answers item i (null until it succeeds), errors by index. */
  async readOutcomes(record: WorkloadRecord): Promise<{ results: unknown[]; errors: ItemErrorView[] }> {
    const keys = this.keys.workload(record.id);
    const [resultFields, errorFields] = await execOrThrow<Record<string, string>>(this.redis.pipeline().hgetall(keys.results).hgetall(keys.errors));
    return toOutcomes(record.total, resultFields!, errorFields!);
  }

  /**
   * The workload, its results as one JSON array text (item i's result, or null), and its errors; the
   * first page comes in the same round trip as the record. Undefined when there is no such workload.
   */
  async getWithResultsJson(id: string): Promise<{ record: WorkloadRecord; resultsJson: string; errors: ItemErrorView[] } | undefined> {
    const keys = this.keys.workload(id);
    const pipeline = this.redis.pipeline().hgetall(keys.meta).hgetall(keys.errors) as ReturnType<RedisClient['pipeline']> & {
      chunkmillResultsJson(meta: string, results: string, from: number, count: number): unknown;
    };
    pipeline.chunkmillResultsJson(keys.meta, keys.results, 0, RESULTS_JSON_PAGE);
    const [meta, errorFields, firstPage] = await execOrThrow<Record<string, string> | string>(pipeline);
    const record = parseRecord(meta as Record<string, string>);
    if (!record) return undefined;
    const pages = [firstPage as string];
    for (let from = RESULTS_JSON_PAGE; from < record.total; from += RESULTS_JSON_PAGE) {
      pages.push(await this.redis.chunkmillResultsJson(keys.meta, keys.results, from, RESULTS_JSON_PAGE));
    }
    return { record, resultsJson: `[${pages.filter((page) => page !== '').join(',')}]`, errors: toErrors(errorFields as Record<string, string>) };
  }

  isFinal(status: WorkloadStatus | 'missing'): boolean {
    return status === 'missing' || FINAL_STATUSES.has(status);
  }
}

/** `results[i]` answers item i (null until it succeeds); errors sorted by index. */
function toOutcomes(total: number, resultFields: Record<string, string>, errorFields: Record<string, string>): { results: unknown[]; errors: ItemErrorView[] } {
  const results: unknown[] = new Array(total).fill(null);
  for (const [index, json] of Object.entries(resultFields)) results[Number(index)] = JSON.parse(json);
  return { results, errors: toErrors(errorFields) };
}

function toErrors(errorFields: Record<string, string>): ItemErrorView[] {
  return Object.entries(errorFields)
    .map(([index, json]) => ({ index: Number(index), ...(JSON.parse(json) as { code: string; message: string }) }))
    .sort((a, b) => a.index - b.index);
}

