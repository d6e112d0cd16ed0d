/**
 * Infrastructure failures are not item failures. A chunk whose run fails because Redis could not serve
 * (full, frozen, failing over, away: core/redis-errors.ts) is handed back to the queue for later instead
 * of failing its attempt: BullMQ's attempts are the items' budget, and Redis being unwell for a while must
 * not use it up, nor end items as CHUNK_LOST. Its items run again later; those already recorded are
 * skipped (a re-run asks which are unfinished), and recording is exactly-once.
 *
 * Handing back is itself a Redis write, so it is tried until it works, the job's lock is gone (the stall
 * check then hands the chunk to another worker: a stall, not an attempt) or the process stops. The delay
 * before the chunk runs again grows while failures follow each other in this process, so that a Redis
 * that stays full is not hammered with chunks that cannot record.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { Job, Processor } from 'bullmq';
import type { Logger } from 'pino';
import { isRedisUnavailable } from '../core/redis-errors';
import { HandBackError } from './hand-back';

export interface InfrastructureGuardOptions {
  /** How long handing a chunk back is tried (its lock is gone by then anyway: LOCK_DURATION_MS). */
  handBackForMs: number;
  /** Aborts when the process is stopping: the hand-back is left to the stall check. */
  shutdownSignal: AbortSignal;
  /** First delay before a handed-back chunk runs again. @defaultValue 500 */
  firstDelayMs?: number;
  /** Longest delay. @defaultValue 15000 */
  maxDelayMs?: number;
}

export class InfrastructureGuard {
  /** Redis failures in a row in this process (any chunk); a chunk that runs through resets it. */
  private failuresInARow = 0;
  private readonly firstDelayMs: number;
  private readonly maxDelayMs: number;

  constructor(
    private readonly logger: Logger,
    private readonly options: InfrastructureGuardOptions,
  ) {
    this.firstDelayMs = options.firstDelayMs ?? 500;
    this.maxDelayMs = options.maxDelayMs ?? 15_000;
  }

  /** Wraps a chunk processor: a Redis failure hands the chunk back rather than failing the attempt. */
  wrap<D, R>(processor: Processor<D, R>): Processor<D, R> {
    return async (job, token, signal) => {
      try {
        const result = await processor(job, token, signal);
        this.failuresInARow = 0;
        return result;
      } catch (error) {
        if (!isRedisUnavailable(error)) throw error;
        this.failuresInARow++;
        const laterMs = Math.min(this.maxDelayMs, this.firstDelayMs * 2 ** Math.min(this.failuresInARow - 1, 16));
        this.logger.warn(
          { jobId: job.id, err: (error as Error).message, retryInMs: laterMs },
          'Redis failed a chunk; handing it back without using an attempt',
        );
        await this.handBack(job, token, laterMs);
        throw new HandBackError('redis_unavailable');
      }
    };
  }

  private async handBack(job: Job, token: string | undefined, laterMs: number): Promise<void> {
    const deadline = Date.now() + this.options.handBackForMs;
    for (let wait = 100; ; wait = Math.min(wait * 2, 2_000)) {
      try {
        await job.moveToDelayed(Date.now() + laterMs, token);
        return;
      } catch (error) {
        // Anything else (the lock is gone: another worker has the chunk, or the stall check will) ends it.
        if (!isRedisUnavailable(error) || Date.now() + wait > deadline || this.options.shutdownSignal.aborted) return;
      }
      await delay(wait);
    }
  }
}
