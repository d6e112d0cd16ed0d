/**
 * A workload's state, results and errors in Redis, and the only code that changes them.
 *
 * Exactly-once counting: BullMQ may run a chunk more than once (a retry, a stalled worker that comes
 * back). A chunk's outcomes are stored packed, one text per chunk (core/results-packing.ts); a write
 * fills only the items that have no outcome yet, and the counters grow by what was actually new, in the
 * same Lua script (redis/lua/record-chunk.lua). So a re-run or a stale completion changes nothing,
 * `completed + failed` never passes `total`, and the last item's write is the one that ends the workload.
 */
import { Cluster } from 'ioredis';
import { execOrThrow, type RedisClient } from './redis-connection';
import { ReplicaWait } from './replica-wait';
import { install } from './redis/redis-script';
import { SLOT_SEPARATOR } from './redis/protocol-constants';
import {
  WORKLOAD_SCRIPTS,
  cancelScript,
  chunksMissingOutcomesScript,
  markRunningScript,
  readResultsScript,
  recordChunkScript,
  type CancelOutcome,
  type RecordChunkAnswer,
} from './redis/workload-scripts';
import { appendResults, chunkAt, forEachSlot, packOutcomes, unpackSlots, type ChunkPosition, type Slot } from './results-packing';
import type { Keys } from './keys';
import { canSee } from './tenants';
import type { ReduceOperation } from './reduce';
import { FINAL_STATUSES, type ItemErrorView, type ItemOutcome, type WorkloadRecord, type WorkloadStatus, type WorkloadType } from './workload';

/** Chunk fields read per HMGET at most, and items: each read holds Redis for a millisecond or so. */
const CHUNKS_PER_READ = 1_000;
const ITEMS_PER_READ = 100_000;

/** Chunks one chunks-missing-outcomes call looks at: a few milliseconds of Redis at most. */
const MISSING_SCAN_CHUNKS = 2_000;

/** Items whose chunks are read with the record, in one round trip: a small workload's all, or a page. */
const FIRST_READ_ITEMS = 10_000;

export type { CancelOutcome } from './redis/workload-scripts';

/** An item in an `items` event: its value as JSON text, or its error. */
export type EventItem = { index: number; json: string } | { index: number; error: { code: string; message: string } };

/** An event published on a workload's channel (see parseWorkloadEvent). */
export type WorkloadEvent =
  | { type: 'items'; status: WorkloadStatus; completed: number; failed: number; total: number; items: EventItem[] }
  | { type: 'status'; status: WorkloadStatus };

/**
 * Reads a message of a workload's events channel: JSON, or for `items` a JSON header line followed by the
 * packed text of the chunk's new outcomes (lua/record-chunk.lua), whose values stay JSON text.
 */
export function parseWorkloadEvent(message: string): WorkloadEvent {
  const newline = message.indexOf(SLOT_SEPARATOR);
  if (newline < 0) return JSON.parse(message) as WorkloadEvent;
  const header = JSON.parse(message.slice(0, newline)) as Omit<Extract<WorkloadEvent, { type: 'items' }>, 'items'> & { start: number };
  const items: EventItem[] = [];
  forEachSlot(message.slice(newline + 1), header.start, (index, slot) => {
    if (slot.kind === 'ok') items.push({ index, json: slot.json });
    else if (slot.kind === 'error') items.push({ index, error: slot.error });
  });
  const { start: _start, ...progress } = header;
  return { ...progress, items };
}

const optionalNumber = (value: string | undefined): number | undefined => (value === undefined || value === '' ? undefined : Number(value));

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
  private readonly redis: RedisClient;
  /** Workloads this process saw in status `running`, oldest first (a Set keeps insertion order). */
  private readonly knownRunning = new Set<string>();

  constructor(
    redis: RedisClient,
    private readonly keys: Keys,
    private readonly resultTtlSeconds: number,
    /** Replicas an item's outcome must reach before recording answers (REDIS_WAIT_REPLICAS). */
    private readonly replicaWait = new ReplicaWait(),
  ) {
    this.redis = redis;
    install(redis, ...WORKLOAD_SCRIPTS);
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
    const results = this.keys.workload(record.id).results;
    const end = Math.min(record.chunks, fedChunks);
    const found: number[] = [];
    for (let from = 0; from < end && found.length < limit; from += MISSING_SCAN_CHUNKS) {
      found.push(...(await chunksMissingOutcomesScript.run(this.redis, { results }, { fromChunk: from, toChunk: Math.min(end, from + MISSING_SCAN_CHUNKS) })));
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
      this.redis.del(keys.meta, keys.results, keys.chunks, keys.feed, keys.doneChunks, keys.requestHeaders),
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
        } else if (
          (!options.status || record.status === options.status) &&
          (options.tenant === undefined || canSee({ tenant: options.tenant, admin: false }, record.tenant))
        ) {
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
    const status = await markRunningScript.run(this.redis, { meta: keys.meta }, { now, eventsChannel: keys.events });
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
   * Records outcomes of one chunk's items (any of them: progress, a re-run, the reaper), each item at most
   * once, and ends the workload when its last item lands. Answers how many outcomes were new, and the
   * workload's status afterwards.
   */
  async recordChunk(id: string, chunk: ChunkPosition, outcomes: Iterable<ItemOutcome>, now = Date.now()): Promise<RecordChunkAnswer> {
    const { keys, args } = this.recordChunkCall(id, chunk, outcomes, now);
    let answer: RecordChunkAnswer;
    if (!this.replicaWait.enabled) answer = await recordChunkScript.run(this.redis, keys, args);
    else {
      // The WAIT for replicas goes behind the script in the same round trip.
      const pipeline = this.redis.pipeline();
      recordChunkScript.queue(pipeline, keys, args);
      this.replicaWait.append(pipeline);
      const [reply, acknowledged] = await execOrThrow(pipeline);
      this.replicaWait.check(acknowledged);
      answer = recordChunkScript.decode(reply);
    }
    this.noteStatus(id, answer.status);
    return answer;
  }

  /**
   * Whether recordChunk's write may go out without the caller waiting for its answer before BullMQ
   * completes the chunk on the same connection (see worker/chunk-recorder.ts): true on a single Redis,
   * where one connection delivers the two in order, and without REDIS_WAIT_REPLICAS, whose WAIT must
   * come between them. On a Redis Cluster the workload's keys and the queue's live in different slots.
   */
  get recordsInOrderWithCompletion(): boolean {
    return !(this.redis instanceof Cluster) && !this.replicaWait.enabled;
  }

  private recordChunkCall(id: string, chunk: ChunkPosition, outcomes: Iterable<ItemOutcome>, now: number) {
    const workload = this.keys.workload(id);
    const { packed, ok, failed } = packOutcomes(chunk, outcomes);
    return {
      keys: {
        meta: workload.meta,
        results: workload.results,
        chunks: workload.chunks,
        requestHeaders: workload.requestHeaders,
      },
      args: {
        now,
        ttlSeconds: this.resultTtlSeconds,
        eventsChannel: workload.events,
        finishedChannel: this.keys.finishedChannel,
        workloadId: id,
        chunkIndex: chunk.index,
        chunkStart: chunk.start,
        packed,
        okCount: ok,
        errorCount: failed,
      },
    };
  }

  /** The items of a chunk that have no outcome yet (a retried chunk runs only these). */
  async unfinishedItems(id: string, chunk: ChunkPosition): Promise<number[]> {
    return unfinishedOf(chunk, await this.redis.hget(this.keys.workload(id).results, String(chunk.index)));
  }

  /**
   * What a re-run chunk does first, in one round trip: move the workload to running (answering its status)
   * and find which of the chunk's items are still unfinished.
   */
  async beginChunk(id: string, chunk: ChunkPosition, now = Date.now()): Promise<{ status: WorkloadStatus | 'missing'; unfinished: number[] }> {
    const keys = this.keys.workload(id);
    const pipeline = this.redis.pipeline();
    markRunningScript.queue(pipeline, { meta: keys.meta }, { now, eventsChannel: keys.events });
    pipeline.hget(keys.results, String(chunk.index));
    const [status, packed] = await execOrThrow(pipeline);
    const answer = markRunningScript.decode(status);
    this.noteStatus(id, answer);
    return { status: answer, unfinished: unfinishedOf(chunk, packed as string | null) };
  }

  /** Cancels a workload that is still queued or running, and tells every worker to stop its items. */
  async cancel(id: string, now = Date.now()): Promise<CancelOutcome> {
    const keys = this.keys.workload(id);
    return cancelScript.run(
      this.redis,
      { meta: keys.meta, chunks: keys.chunks, requestHeaders: keys.requestHeaders },
      { now, eventsChannel: keys.events, finishedChannel: this.keys.finishedChannel, cancelChannel: this.keys.cancelChannel, workloadId: id },
    );
  }

  /**
   * The workload and the results of items [offset, offset + limit) (clipped to its total): their values
   * as one JSON array text (an item without a result is null) and their errors. The stored texts are
   * spliced, not parsed. Undefined when there is no such workload.
   */
  async getWithResults(
    id: string,
    range: { offset?: number; limit?: number } = {},
  ): Promise<{ record: WorkloadRecord; resultsJson: string; errors: ItemErrorView[] } | undefined> {
    const keys = this.keys.workload(id);
    const offset = range.offset ?? 0;
    const first = await readResultsScript.run(
      this.redis,
      { meta: keys.meta, results: keys.results },
      { offset, count: Math.min(range.limit ?? FIRST_READ_ITEMS, FIRST_READ_ITEMS) },
    );
    const record = first.fields && parseRecord(first.fields);
    if (!record) return undefined;
    const end = Math.min(record.total, range.limit === undefined ? record.total : offset + range.limit);
    const parts: string[] = [];
    const errors: ItemErrorView[] = [];
    await this.readChunks(record, offset, end, (chunk, packed, from, to) => appendResults(chunk, packed, from, to, parts, errors), first);
    return { record, resultsJson: `[${parts.join(',')}]`, errors };
  }

  /**
   * Every outcome of items [from, to) in index order: `visit(index, slot)` with the item's stored slot
   * text (see core/results-packing.ts), skipping items without one. What an event stream's snapshot sends.
   */
  async forEachOutcome(
    record: WorkloadRecord,
    visit: (index: number, slot: Exclude<Slot, { kind: 'empty' }>) => void,
    from = 0,
    to = record.total,
  ): Promise<void> {
    await this.readChunks(record, from, to, (chunk, packed, first, last) => {
      if (packed === null) return;
      forEachSlot(
        packed.toString(),
        chunk.start,
        (index, slot) => {
          if (slot.kind !== 'empty') visit(index, slot);
        },
        first,
        last,
      );
    });
  }

  /**
   * Reads the chunks holding items [from, to), in order, a page of fields per round trip (the first ones
   * from `prefetched`, read already). The texts come as Buffers: a big answer is built from their bytes
   * (results-packing.ts), not from a million-character JavaScript string each.
   */
  private async readChunks(
    record: WorkloadRecord,
    from: number,
    to: number,
    visit: (chunk: ChunkPosition, packed: Buffer | null, from: number, to: number) => void,
    prefetched: { firstChunk: number; texts: Array<Buffer | null> } = { firstChunk: 0, texts: [] },
  ): Promise<void> {
    if (to <= from) return;
    const results = this.keys.workload(record.id).results;
    const lastChunk = Math.floor((to - 1) / record.chunkSize);
    const prefetchedEnd = prefetched.firstChunk + prefetched.texts.length;
    const chunksPerRead = Math.max(1, Math.min(CHUNKS_PER_READ, Math.floor(ITEMS_PER_READ / record.chunkSize)));
    let index = Math.floor(from / record.chunkSize);
    while (index <= lastChunk) {
      const fromPrefetched = index >= prefetched.firstChunk && index < prefetchedEnd;
      const count = fromPrefetched ? Math.min(prefetchedEnd, lastChunk + 1) - index : Math.min(chunksPerRead, lastChunk + 1 - index);
      const texts = fromPrefetched
        ? prefetched.texts.slice(index - prefetched.firstChunk, index - prefetched.firstChunk + count)
        : await this.redis.hmgetBuffer(results, ...Array.from({ length: count }, (_, offset) => String(index + offset)));
      for (let offset = 0; offset < count; offset++) {
        const chunk = chunkAt(index + offset, record.chunkSize, record.total);
        visit(chunk, texts[offset] ?? null, Math.max(from, chunk.start), Math.min(to, chunk.start + chunk.size));
      }
      index += count;
    }
  }

  isFinal(status: WorkloadStatus | 'missing'): boolean {
    return status === 'missing' || FINAL_STATUSES.has(status);
  }
}

/** The items of `chunk` whose slot in its stored text (null: none stored) is empty. */
function unfinishedOf(chunk: ChunkPosition, packed: string | null): number[] {
  const slots = unpackSlots(packed, chunk.size);
  const unfinished: number[] = [];
  for (let position = 0; position < chunk.size; position++) if (!slots[position]) unfinished.push(chunk.start + position);
  return unfinished;
}
