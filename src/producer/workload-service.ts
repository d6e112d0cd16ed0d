/**
 * Submitting, following and cancelling workloads: what the HTTP routes do, without HTTP.
 *
 * Submission order matters for "no accepted job is ever lost, nothing half-enqueued": the workload
 * record is written first, then its chunk jobs are added in bulk under deterministic job ids; if any of
 * that fails, everything written is removed again and the caller gets a 503. Only then is 202 answered.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { defaultChunkSize, planChunks, type ChunkRange } from '../core/chunk-planner';
import type { Config } from '../core/config';
import { ConflictError, NotFoundError } from '../core/errors';
import type { ChunkQueue, ChunkQueues } from '../core/queues';
import { reduceValues } from '../core/reduce';
import type { Keys } from '../core/keys';
import type { RedisSubscriber } from '../core/redis-subscriber';
import {
  LIMITS,
  parseOrThrow,
  resolveComputeTask,
  submissionSchema,
  toFetchOptions,
  toFetchRequests,
  type WorkloadSubmission,
} from '../core/workload-schema';
import type { WorkloadStore } from '../core/workload-store';
import {
  chunkJobId,
  FINAL_STATUSES,
  toWorkloadView,
  type ChunkJobData,
  type WorkloadRecord,
  type WorkloadResults,
  type WorkloadStatus,
  type WorkloadView,
} from '../core/workload';

/**
 * A submission's items, whatever its type: how many, and each chunk job's data. The one place that
 * knows what a chunk of each type carries, so that submit() builds every job the same way.
 */
function chunkItems(
  submission: WorkloadSubmission,
  workloadId: string,
): { count: number; minimumChunkSize: number; chunkData: (chunk: ChunkRange) => ChunkJobData } {
  const base = (chunk: ChunkRange) => ({ workloadId, chunkIndex: chunk.chunkIndex, start: chunk.start });
  if (submission.type === 'compute') {
    const { task, inputs, timeoutMs } = submission;
    return {
      count: inputs.length,
      minimumChunkSize: 1,
      chunkData: (chunk) => ({ ...base(chunk), type: 'compute', task, inputs: inputs.slice(chunk.start, chunk.end), timeoutMs }),
    };
  }
  const requests = toFetchRequests(submission);
  const fetch = toFetchOptions(submission);
  return {
    count: requests.length,
    minimumChunkSize: fetch.concurrency,
    chunkData: (chunk) => ({ ...base(chunk), type: 'fetch', requests: requests.slice(chunk.start, chunk.end), fetch }),
  };
}

/** Jobs per addBulk call: large enough to amortise round trips, small enough to keep Redis responsive. */
const ENQUEUE_BATCH = 1000;
/** How long, and how often, the rollback of a failed submission is retried while Redis is away. */
const ROLLBACK_RETRY_MS = 10 * 60_000;
const ROLLBACK_RETRY_INTERVAL_MS = 500;
/** Default attempts per chunk, as in BullMQ's own examples and the API contract. */
const DEFAULT_ATTEMPTS = 3;

export interface SubmitAnswer {
  id: string;
  status: WorkloadStatus;
  total: number;
  chunks: number;
}

export class WorkloadService {
  private readonly schema;

  constructor(
    private readonly config: Config,
    private readonly keys: Keys,
    private readonly store: WorkloadStore,
    private readonly queues: ChunkQueues,
    private readonly subscriber: RedisSubscriber,
    private readonly logger: Logger,
  ) {
    this.schema = submissionSchema(config.MAX_ITEMS_PER_WORKLOAD);
  }

  /** Validates a submission; throws a ValidationError before anything is written. */
  validate(body: unknown): WorkloadSubmission {
    const submission = parseOrThrow(this.schema, body, 'The workload');
    if (submission.type === 'compute') resolveComputeTask(submission);
    return submission;
  }

  async submit(submission: WorkloadSubmission, id: string = randomUUID()): Promise<SubmitAnswer> {
    const items = chunkItems(submission, id);
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
    };
    const jobs = chunks.map((chunk) => ({
      name: submission.type,
      data: items.chunkData(chunk),
      opts: {
        jobId: chunkJobId(id, chunk.chunkIndex),
        attempts: record.attempts,
        backoff: { type: 'exponential', delay: this.config.RETRY_BACKOFF_MS },
        priority: record.priority,
        removeOnComplete: true,
        removeOnFail: { age: this.config.RESULT_TTL_SECONDS },
      },
    }));
    const queue = this.queues[submission.type];
    try {
      await this.store.create(record);
      for (let offset = 0; offset < jobs.length; offset += ENQUEUE_BATCH) {
        await queue.addBulk(jobs.slice(offset, offset + ENQUEUE_BATCH));
      }
    } catch (error) {
      await this.rollBack(queue, record);
      throw error;
    }
    this.logger.info({ workloadId: id, type: record.type, task: record.task, total, chunks: chunks.length }, 'workload accepted');
    return { id, status: record.status, total, chunks: chunks.length };
  }

  async get(id: string): Promise<WorkloadView> {
    return toWorkloadView(await this.require(id));
  }

  async list(options: { status?: WorkloadStatus; limit: number }): Promise<WorkloadView[]> {
    const now = Date.now();
    return (await this.store.list(options)).map((record) => toWorkloadView(record, now));
  }

  /** The results so far; with `waitMs`, first waits (up to that long) for the workload to finish. */
  async results(id: string, waitMs: number, signal?: AbortSignal): Promise<WorkloadResults> {
    let record = await this.require(id);
    if (waitMs > 0 && !FINAL_STATUSES.has(record.status)) {
      await this.waitUntilFinal(id, waitMs, signal);
      record = await this.require(id);
    }
    const { results, errors } = await this.store.readOutcomes(record);
    const reduced =
      record.reduce && record.status === 'completed'
        ? reduceValues(record.reduce, results)
        : null;
    return { id, status: record.status, results, errors, reduced };
  }

  /** Cancels; a second cancel answers the same, cancelling a finished workload is a conflict. */
  async cancel(id: string): Promise<WorkloadView> {
    const record = await this.require(id);
    const outcome = await this.store.cancel(id);
    if (outcome === 'missing') throw new NotFoundError(`No workload with id ${id}.`);
    if (outcome === 'completed' || outcome === 'failed') {
      throw new ConflictError('ALREADY_FINISHED', `Workload ${id} has already finished (${outcome}); nothing to cancel.`);
    }
    if (outcome === 'cancelled-now') {
      // Waiting chunks are removed here; running ones are stopped by their workers (cancel channel).
      await this.removeChunkJobs(this.queues[record.type], record);
      this.logger.info({ workloadId: id }, 'workload cancelled');
    }
    return this.get(id);
  }

  /** Resolves when the workload reaches a final status, or after `waitMs`, whichever comes first. */
  async waitUntilFinal(id: string, waitMs: number, signal?: AbortSignal): Promise<void> {
    let stopListening: (() => void) | undefined;
    let timer: NodeJS.Timeout | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        timer = setTimeout(resolve, waitMs);
        signal?.addEventListener('abort', () => resolve(), { once: true });
        this.subscriber
          // The done channel carries the final status alone: a long poll need not read every item event.
          .listen(this.keys.workload(id).done, (status) => {
            if (FINAL_STATUSES.has(status as WorkloadStatus)) resolve();
          })
          .then(async (stop) => {
            stopListening = stop;
            // Subscribed first, then checked: a finish between the two cannot be missed.
            const status = await this.store.status(id);
            if (!status || FINAL_STATUSES.has(status)) resolve();
          })
          .catch(reject);
      });
    } finally {
      clearTimeout(timer);
      stopListening?.();
    }
  }

  private async require(id: string): Promise<WorkloadRecord> {
    const record = await this.store.get(id);
    if (!record) throw new NotFoundError(`No workload with id ${id}.`);
    return record;
  }

  private async removeChunkJobs(queue: ChunkQueue, record: WorkloadRecord): Promise<void> {
    for (let first = 0; first < record.chunks; first += ENQUEUE_BATCH) {
      const last = Math.min(record.chunks, first + ENQUEUE_BATCH);
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
    const remove = async (): Promise<void> => {
      await this.removeChunkJobs(queue, record);
      await this.store.remove(record.id);
    };
    const deadline = Date.now() + ROLLBACK_RETRY_MS;
    const retry = (error: unknown): void => {
      if (Date.now() > deadline) {
        this.logger.error({ err: error, workloadId: record.id }, 'could not roll back a failed submission');
        return;
      }
      setTimeout(() => remove().then(() => this.logger.info({ workloadId: record.id }, 'rolled back a failed submission'), retry), ROLLBACK_RETRY_INTERVAL_MS).unref();
    };
    await remove().catch((error) => {
      this.logger.warn({ err: error, workloadId: record.id }, 'could not roll back a failed submission yet; retrying');
      retry(error);
    });
  }
}
