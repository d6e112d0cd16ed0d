/**
 * Submitting, following and cancelling workloads: what the HTTP routes do, without HTTP.
 *
 * Submission order matters for "no accepted job is ever lost, nothing half-enqueued": the workload
 * record is written first, then its chunk jobs are added in bulk under deterministic job ids; if any of
 * that fails, everything written is removed again and the caller gets a 503. Only then is 202 answered.
 * A workload of more chunks than CHUNKS_IN_QUEUE_PER_WORKLOAD gets only its first window of jobs here;
 * its other chunks wait in its own hash and are fed as chunks finish (core/chunk-feeder.ts).
 */
import { randomUUID } from 'node:crypto';
import { SpanKind } from '@opentelemetry/api';
import type { Logger } from 'pino';
import { REDIS_NOISE } from '../core/logger';
import { defaultChunkSize, planChunks, type ChunkRange } from '../core/chunk-planner';
import type { Config } from '../core/config';
import type { ChunkFeeder } from '../core/chunk-feeder';
import { chunkJobOptions } from '../core/chunk-job-options';
import { ConflictError, NotFoundError, PayloadTooLargeError, ValidationError, type ChunkmillError, type ErrorDetail } from '../core/errors';
import type { ChunkQueue, ChunkQueues } from '../core/queues';
import { COMMAND_TIMED_OUT } from '../core/redis-connection';
import { DEFAULT_ELEMENTS_PER_ITEM, findArrayTask } from '../core/array-tasks';
import type { ArrayStore } from '../core/array-store';
import { reduceValues } from '../core/reduce';
import { WorkloadReductions } from './results-reduction';
import { separateHeaders } from '../core/request-headers';
import { currentTraceCarrier, inRootSpan, setSpanAttributes } from '../core/tracing';
import { DEFAULT_ATTEMPTS, LIMITS, submissionSchema, type ArrayBindings, type SubmitAnswer, type WorkloadSubmission } from '../contract';
import { parseOrThrow, resolveComputeTask, toFetchOptions, toFetchRequests } from '../core/workload-schema';
import { canSee, OPEN_IDENTITY, OPEN_TENANT, tenantArrayName, type Identity } from '../core/tenants';
import type { WorkloadStore } from '../core/workload-store';
import type { FinishedWorkloads } from './finished-workloads';
import type { MissingWorkloads } from './missing-workloads';
import type { WorkloadPresence } from './workload-presence';
import {
  chunkJobId,
  FINAL_STATUSES,
  toWorkloadView,
  type ChunkJobData,
  type ElementRange,
  type WorkloadRecord,
  type WorkloadResults,
  type WorkloadStatus,
  type WorkloadView,
} from '../core/workload';

/**
 * A results answer whose `results` array is JSON text already, as the workers stored each item's value:
 * the route splices it into the body (resultsBody) rather than parse and write out every item again.
 */
export interface WorkloadResultsJson extends Omit<WorkloadResults, 'results'> {
  /** The workload's item count (the answer may hold fewer: a page). */
  total: number;
  /** The index of the answer's first item: `results[i]` answers item `offset + i`. */
  offset: number;
  resultsJson: string;
}

/** The results answer's JSON body: WorkloadResults's fields in its order, the page's `total` and `offset` after `status`. */
export function resultsBody({ id, status, total, offset, resultsJson, errors, reduced }: WorkloadResultsJson): string {
  return (
    `{"id":${JSON.stringify(id)},"status":${JSON.stringify(status)},"total":${total},"offset":${offset},` +
    `"results":${resultsJson},"errors":${JSON.stringify(errors)},"reduced":${JSON.stringify(reduced)}}`
  );
}

/** Which items a results answer holds: `[offset, offset + limit)`, every item from `offset` without a limit. */
export interface ResultsRange {
  offset: number;
  limit?: number;
}

/**
 * A submission's items, whatever its type: how many, and each chunk job's data. The one place that
 * knows what a chunk of each type carries, so that submit() builds every job the same way.
 */
function chunkItems(
  submission: WorkloadSubmission,
  workloadId: string,
  arrayLength?: number,
): { count: number; minimumChunkSize: number; chunkData: (chunk: ChunkRange) => ChunkJobData; headerSets?: string[] } {
  const base = (chunk: ChunkRange) => ({ workloadId, chunkIndex: chunk.chunkIndex, start: chunk.start });
  if (submission.type === 'compute' && submission.arrays) {
    const { task, arrays, timeoutMs } = submission;
    const perItem = submission.elementsPerItem ?? DEFAULT_ELEMENTS_PER_ITEM;
    const range = (item: number): ElementRange => ({ start: item * perItem, end: Math.min(arrayLength!, (item + 1) * perItem) });
    return {
      count: Math.ceil(arrayLength! / perItem),
      minimumChunkSize: 1,
      chunkData: (chunk) => ({
        ...base(chunk),
        type: 'compute',
        task,
        arrays,
        arrayLength,
        inputs: Array.from({ length: chunk.end - chunk.start }, (_, offset) => range(chunk.start + offset)),
        timeoutMs,
      }),
    };
  }
  if (submission.type === 'compute') {
    const { task, timeoutMs, cache } = submission;
    const inputs = submission.inputs ?? [];
    return {
      count: inputs.length,
      minimumChunkSize: 1,
      chunkData: (chunk) => ({
        ...base(chunk),
        type: 'compute',
        task,
        inputs: inputs.slice(chunk.start, chunk.end),
        timeoutMs,
        ...(cache ? { cache: true } : {}),
      }),
    };
  }
  // Headers (credentials, often) stay out of the jobs: see core/request-headers.ts.
  const { refs, headerSets } = separateHeaders(toFetchRequests(submission));
  const fetch = toFetchOptions(submission);
  return {
    count: refs.length,
    minimumChunkSize: fetch.concurrency,
    chunkData: (chunk) => ({ ...base(chunk), type: 'fetch', requests: refs.slice(chunk.start, chunk.end), fetch }),
    headerSets,
  };
}

/** The one answer for a workload that does not exist and for another tenant's. */
export const noSuchWorkload = (id: string): NotFoundError => new NotFoundError(`No workload with id ${id}.`);

/** A submission whose array names are the tenant's arrays' names in Redis (core/tenants.ts). */
function withTenantArrays(submission: WorkloadSubmission, tenant: string): WorkloadSubmission {
  if (submission.type !== 'compute' || !submission.arrays) return submission;
  const arrays = Object.fromEntries(
    Object.entries(submission.arrays).map(([role, name]) => [role, name === undefined ? undefined : tenantArrayName(tenant, name)]),
  );
  return { ...submission, arrays: arrays as ArrayBindings };
}

/** What a JSON value is, in words, for an error message. */
function jsonKind(value: unknown): string {
  if (value === null) return 'JSON null';
  if (Array.isArray(value)) return 'a JSON array';
  return `a JSON ${typeof value}`;
}

/** Jobs per addBulk call: large enough to amortise round trips, small enough to keep Redis responsive. */
const ENQUEUE_BATCH = 1000;
/** How long, and how often, the rollback of a failed submission is retried while Redis is away. */
const ROLLBACK_RETRY_MS = 10 * 60_000;
const ROLLBACK_RETRY_INTERVAL_MS = 500;
export type { SubmitAnswer };

export class WorkloadService {
  private readonly schema;
  private readonly reductions: WorkloadReductions;

  constructor(
    private readonly config: Config,
    private readonly store: WorkloadStore,
    private readonly queues: ChunkQueues,
    private readonly finished: FinishedWorkloads,
    private readonly logger: Logger,
    private readonly feeder: ChunkFeeder,
    private readonly arrays: ArrayStore,
    private readonly presence: WorkloadPresence,
    private readonly missing: MissingWorkloads,
  ) {
    this.schema = submissionSchema(config.MAX_ITEMS_PER_WORKLOAD);
    this.reductions = new WorkloadReductions(store);
  }

  /**
   * Validates a submission; throws before anything is written: a PayloadTooLargeError (413) past
   * MAX_ITEMS_PER_WORKLOAD, a ValidationError (400) for anything else wrong.
   */
  validate(body: unknown): WorkloadSubmission {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new ValidationError(`The request body is ${jsonKind(body)}; send a workload, a JSON object with "type".`, [
        { path: '', message: 'expected a JSON object' },
      ]);
    }
    this.checkSize(body);
    const submission = parseOrThrow(this.schema, body, 'The workload');
    if (submission.type === 'compute') resolveComputeTask(submission);
    return submission;
  }

  /** Counted before the schema runs, so that a too-big workload is a 413 (and costs no per-item validation). */
  private checkSize(body: unknown): void {
    if (typeof body !== 'object' || body === null) return;
    const max = this.config.MAX_ITEMS_PER_WORKLOAD;
    for (const field of ['inputs', 'urls', 'requests'] as const) {
      const items = (body as Record<string, unknown>)[field];
      if (Array.isArray(items) && items.length > max) {
        throw new PayloadTooLargeError(`The workload has ${items.length} items; at most ${max} are allowed (MAX_ITEMS_PER_WORKLOAD).`, [
          { path: field, message: `at most ${max} items` },
        ]);
      }
    }
  }

  /**
   * Submits for `tenant` (the open tenant by default): the workload, and the arrays it names, are that tenant's.
   * With tracing on, inside the workload's root span, `chunkmill.submit` (core/tracing.ts).
   */
  submit(submission: WorkloadSubmission, id: string = randomUUID(), tenant: string = OPEN_TENANT): Promise<SubmitAnswer> {
    const attributes = { 'chunkmill.workload.id': id, 'chunkmill.workload.type': submission.type };
    return inRootSpan('chunkmill.submit', SpanKind.PRODUCER, attributes, () => this.submitWorkload(submission, id, tenant));
  }

  private async submitWorkload(submission: WorkloadSubmission, id: string, tenant: string): Promise<SubmitAnswer> {
    const arrayLength = submission.type === 'compute' ? await this.prepareArrays(submission, tenant) : undefined;
    const items = chunkItems(withTenantArrays(submission, tenant), id, arrayLength);
    const total = items.count;
    const chunkSize = submission.chunkSize ?? defaultChunkSize(total, items.minimumChunkSize);
    const chunks = planChunks(total, chunkSize);
    const record: WorkloadRecord = {
      id,
      type: submission.type,
      task: submission.type === 'compute' ? submission.task : undefined,
      status: 'queued',
      total,
      completed: 0,
      failed: 0,
      chunks: chunks.length,
      chunkSize,
      attempts: submission.attempts ?? DEFAULT_ATTEMPTS,
      priority: submission.priority ?? LIMITS.normalPriority,
      timeoutMs: submission.timeoutMs,
      reduce: submission.type === 'compute' ? submission.reduce : undefined,
      createdAt: Date.now(),
      tenant: tenant === OPEN_TENANT ? undefined : tenant,
    };
    // Past the window, the workload's chunks are fed as earlier ones finish (chunk-feeder.ts).
    const windowed = this.feeder.isWindowed(chunks.length);
    setSpanAttributes({
      'chunkmill.workload.items': total,
      'chunkmill.workload.chunks': chunks.length,
      'chunkmill.workload.windowed': windowed,
      ...(record.task ? { 'chunkmill.workload.task': record.task } : {}),
      ...(record.tenant ? { 'chunkmill.tenant': record.tenant } : {}),
    });
    // With tracing on, every chunk's payload carries the submission's trace context, so chunks fed
    // later (from those payloads, by any worker) continue the same trace.
    const trace = currentTraceCarrier();
    const extra = { ...(windowed ? { windowed: true } : {}), ...(trace ? { trace } : {}) };
    const jobOptions = chunkJobOptions(record, this.config);
    const jobs = chunks.map((chunk) => ({
      name: submission.type,
      data: windowed || trace ? { ...items.chunkData(chunk), ...extra } : items.chunkData(chunk),
      opts: { ...jobOptions, jobId: chunkJobId(id, chunk.chunkIndex) },
    }));
    const queue = this.queues[submission.type];
    try {
      await this.store.create(
        record,
        jobs.map((job) => JSON.stringify(job.data)),
        items.headerSets,
      );
      if (windowed) await this.feeder.start(id, submission.type, jobs);
      else {
        for (let offset = 0; offset < jobs.length; offset += ENQUEUE_BATCH) {
          await queue.addBulk(jobs.slice(offset, offset + ENQUEUE_BATCH));
        }
      }
      await this.store.markAccepted(id);
      // With REDIS_WAIT_REPLICAS, the 202 waits until replicas have it all: a failover cannot take it back.
      await this.store.waitForReplicas(id, queue.keys.meta);
    } catch (error) {
      // A Redis that did not answer in time (stalled) will not answer the clean-up either: the 503 goes
      // out now, and the clean-up, sent after the writes on the same connection, runs after them once
      // Redis answers (retried until it does). Otherwise the clean-up is done before the answer.
      const rollBack = this.rollBack(queue, record);
      if (!(error instanceof Error && error.message === COMMAND_TIMED_OUT)) await rollBack;
      throw error;
    }
    this.missing.remember(id, record.createdAt);
    this.logger.info({ workloadId: id, type: record.type, task: record.task, total, chunks: chunks.length }, 'workload accepted');
    return { id, status: record.status, total, chunks: chunks.length };
  }

  /**
   * For an array workload: checks that its input arrays exist with one length and that its items fit
   * the item limit, then creates its `out` array (zeros, that length), before any chunk can run.
   * Answers the arrays' length in elements; undefined for a workload of `inputs`.
   */
  private async prepareArrays(submission: Extract<WorkloadSubmission, { type: 'compute' }>, tenant: string): Promise<number | undefined> {
    const { arrays } = submission;
    if (!arrays) return undefined;
    const task = findArrayTask(submission.task)!;
    const details: ErrorDetail[] = [];
    const lengths = await Promise.all(task.reads.map(async (role) => ({ role, length: await this.arrays.length(tenantArrayName(tenant, arrays[role]!)) })));
    for (const { role, length } of lengths) {
      if (length === undefined) details.push({ path: `arrays.${role}`, message: `no array named "${arrays[role]}" (it may have expired)` });
    }
    const length = lengths[0].length;
    if (details.length === 0 && lengths.some((entry) => entry.length !== length)) {
      details.push({ path: 'arrays', message: `the arrays differ in length (${lengths.map((entry) => `${entry.role}: ${entry.length}`).join(', ')})` });
    }
    const perItem = submission.elementsPerItem ?? DEFAULT_ELEMENTS_PER_ITEM;
    if (details.length === 0 && Math.ceil(length! / perItem) > this.config.MAX_ITEMS_PER_WORKLOAD) {
      details.push({ path: 'elementsPerItem', message: `too small: more than ${this.config.MAX_ITEMS_PER_WORKLOAD} items` });
    }
    if (details.length > 0) throw new ValidationError('The arrays of this workload are not usable.', details);
    if (task.writes) await this.arrays.create(tenantArrayName(tenant, arrays.out!), length!, this.config.RESULT_TTL_SECONDS);
    return length;
  }

  /**
   * Every read and action takes the caller's identity: another tenant's workload is answered exactly as
   * one that does not exist (404), so that ids tell nothing across tenants.
   */
  async get(id: string, identity: Identity = OPEN_IDENTITY): Promise<WorkloadView> {
    return toWorkloadView(await this.require(id, identity));
  }

  /** The newest workloads the caller may see: its own, or every tenant's for an admin. */
  async list(options: { status?: WorkloadStatus; limit: number }, identity: Identity = OPEN_IDENTITY): Promise<WorkloadView[]> {
    const now = Date.now();
    const records = await this.store.list({ ...options, tenant: identity.admin ? undefined : identity.tenant });
    return records.map((record) => toWorkloadView(record, now));
  }

  /**
   * The results so far of items `[offset, offset + limit)` (every item by default); with `waitMs`, first
   * waits (up to that long) for the workload to finish. `reduced` is always over the whole workload.
   */
  async results(
    id: string,
    waitMs: number,
    signal?: AbortSignal,
    identity: Identity = OPEN_IDENTITY,
    range: ResultsRange = { offset: 0 },
  ): Promise<WorkloadResultsJson> {
    const seen = await this.waitForFinish(id, waitMs, signal, identity);
    // The record and the first chunks' outcomes together, in one round trip.
    const read = await this.store.getWithResults(id, range);
    const record = await this.visible(id, read?.record, identity, seen?.createdAt);
    const { resultsJson, errors } = read!; // visible() threw when there was none
    return {
      id,
      status: record.status,
      total: record.total,
      offset: range.offset,
      resultsJson,
      errors,
      reduced: await this.reduced(record, resultsJson, range),
    };
  }

  /**
   * The workload, for a results stream: with `waitMs`, once it has finished or the wait is over. Errors as
   * `results` (404, 410, 503), before anything is streamed.
   */
  async resultsRecord(id: string, waitMs: number, signal?: AbortSignal, identity: Identity = OPEN_IDENTITY): Promise<WorkloadRecord> {
    const seen = await this.waitForFinish(id, waitMs, signal, identity);
    return this.visible(id, await this.store.get(id), identity, seen?.createdAt);
  }

  /**
   * With `waitMs`, waits (up to that long) for the workload to finish; answers the record as seen before
   * waiting (undefined without a wait). A workload whose record vanishes while it waits ends the wait at
   * once (WorkloadPresence); the read after it then answers lost (410) or not found (404), by MissingWorkloads.
   */
  private async waitForFinish(id: string, waitMs: number, signal: AbortSignal | undefined, identity: Identity): Promise<WorkloadRecord | undefined> {
    if (waitMs <= 0) return undefined;
    // Watching before the first read makes that read the check: a finish in between is not missed.
    const watch = this.finished.watch(id);
    try {
      // A stalled Redis must not hold the request: past the deadline it is a 503.
      await this.finished.ready(this.config.REDIS_COMMAND_TIMEOUT_MS);
      const seen = await this.require(id, identity);
      if (!FINAL_STATUSES.has(seen.status)) {
        const gone = new AbortController();
        const unwatch = this.presence.watch(id, () => gone.abort());
        try {
          // A record gone counts as final: the read after the wait then answers why it is gone.
          const isFinal = async (): Promise<boolean> => FINAL_STATUSES.has((await this.store.status(id)) ?? 'cancelled');
          await watch.finished(waitMs, isFinal, signal ? AbortSignal.any([signal, gone.signal]) : gone.signal);
        } finally {
          unwatch();
        }
      }
      return seen;
    } finally {
      watch.close();
    }
  }

  /**
   * The reduction over every result, given once the workload completed with `reduce`. When the answer
   * holds every item, from its own text; otherwise from the whole workload, read in pages.
   */
  private async reduced(record: WorkloadRecord, resultsJson: string, range: ResultsRange): Promise<number | string | null> {
    if (!record.reduce || record.status !== 'completed') return null;
    const whole = range.offset === 0 && (range.limit === undefined || range.limit >= record.total);
    if (whole) return reduceValues(record.reduce, JSON.parse(resultsJson) as unknown[]);
    const reduced = await this.reductions.of(record);
    if (reduced === undefined) throw await this.missing.explain(record.id, record.createdAt);
    return reduced;
  }

  /** Cancels; a second cancel answers the same, cancelling a finished workload is a conflict. */
  async cancel(id: string, identity: Identity = OPEN_IDENTITY): Promise<WorkloadView> {
    const record = await this.require(id, identity);
    const outcome = await this.store.cancel(id);
    if (outcome === 'missing') throw await this.missing.explain(id, record.createdAt);
    if (outcome === 'completed' || outcome === 'failed') {
      throw new ConflictError('ALREADY_FINISHED', `Workload ${id} has already finished (${outcome}); nothing to cancel.`);
    }
    if (outcome === 'cancelled-now') {
      // Waiting chunks are removed here; running ones are stopped by their workers (cancel channel).
      // Chunks never fed have no job, and the cancel dropped their payloads (the feeder never feeds a cancelled workload).
      await this.removeChunkJobs(this.queues[record.type], record);
      this.logger.info({ workloadId: id }, 'workload cancelled');
    }
    return this.get(id, identity);
  }

  /**
   * The workload, if it exists and the caller may see it. Another tenant's workload is one that does not
   * exist (the same NotFoundError); a workload with no record is explained by MissingWorkloads (404 or 410).
   */
  async require(id: string, identity: Identity = OPEN_IDENTITY): Promise<WorkloadRecord> {
    return this.visible(id, await this.store.get(id), identity);
  }

  /**
   * `record` as read for `id`, if there is one and the caller may see it: `require`'s checks on a record
   * read some other way. `createdAt` (when known) tells MissingWorkloads a lost workload from one that never was.
   */
  private async visible(id: string, record: WorkloadRecord | undefined, identity: Identity, createdAt?: number): Promise<WorkloadRecord> {
    if (!record) throw await this.missing.explain(id, createdAt);
    if (!canSee(identity, record.tenant)) throw noSuchWorkload(id);
    this.missing.remember(id, record.createdAt);
    return record;
  }

  /** Why a workload has no record (any more): the error to answer or stream. */
  explainMissing(id: string, createdAt?: number): Promise<ChunkmillError> {
    return this.missing.explain(id, createdAt);
  }

  private async removeChunkJobs(queue: ChunkQueue, record: WorkloadRecord): Promise<void> {
    // Only chunks fed so far can have a job (and a top-up racing this one: the feeder counts a window more).
    const fed = await this.feeder.fedChunks(record.id, record.chunks);
    for (let first = 0; first < fed; first += ENQUEUE_BATCH) {
      const last = Math.min(fed, first + ENQUEUE_BATCH);
      const removals: Array<Promise<unknown>> = [];
      // remove() leaves a job that a worker holds (locked) alone: that one is stopped by its worker.
      for (let chunkIndex = first; chunkIndex < last; chunkIndex++) {
        removals.push(queue.remove(chunkJobId(record.id, chunkIndex)));
      }
      await Promise.all(removals);
    }
  }

  /**
   * Removes a failed submission's record and jobs. When Redis went away in the middle (the usual reason
   * for the failure), the removal is retried in the background until Redis is back, so that no
   * half-written workload outlives the outage; the client has its 503 at once either way.
   */
  private async rollBack(queue: ChunkQueue, record: WorkloadRecord): Promise<void> {
    // Both halves, each whatever the other does: on a Redis Cluster the queue and the workload's record
    // may live on different nodes, and one of them being gone must not leave the other behind.
    const remove = async (): Promise<void> => {
      const outcomes = await Promise.allSettled([this.removeChunkJobs(queue, record), this.store.remove(record.id)]);
      for (const outcome of outcomes) if (outcome.status === 'rejected') throw outcome.reason;
    };
    const deadline = Date.now() + ROLLBACK_RETRY_MS;
    const retry = (error: unknown): void => {
      if (Date.now() > deadline) {
        this.logger.error({ err: error, workloadId: record.id }, 'could not roll back a failed submission');
        return;
      }
      setTimeout(
        () => remove().then(() => this.logger.info({ workloadId: record.id }, 'rolled back a failed submission'), retry),
        ROLLBACK_RETRY_INTERVAL_MS,
      ).unref();
    };
    await remove().catch((error) => {
      this.logger.warn({ err: error, workloadId: record.id, ...REDIS_NOISE }, 'could not roll back a failed submission yet; retrying');
      retry(error);
    });
  }
}
