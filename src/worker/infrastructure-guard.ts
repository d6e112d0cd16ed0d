/**
 * Infrastructure failures are not item failures. A chunk whose run fails because Redis could not serve
 * (full, frozen, failing over, away: isHandedBackFailure in hand-back.ts) is handed back to the queue for
 * later instead of failing its attempt: BullMQ's attempts are the items' budget, and Redis being unwell
 * for a while must not use it up, nor end items as CHUNK_LOST. Its items run again later; those already
 * recorded are skipped (a re-run asks which are unfinished), and recording is exactly-once.
 *
 * Handing back is itself a Redis write, so it is tried until it works, the job's lock is gone (the stall
 * check then hands the chunk to another worker: a stall, not an attempt) or the process stops. The delay
 * before the chunk runs again grows while failures follow each other in this process, so that a Redis
 * that stays full is not hammered with chunks that cannot record.
 *
 * Log lines: each hand-back has its one info line, worker-metrics.ts's "chunk handed back to the queue"
 * (workload, chunk, reason). What Redis answered is told here, as a warning at most once per
 * WARN_EVERY_MS per process however many chunks an outage hands back (a lost connection's warning is
 * absorbed by the process's account of the outage, core/redis-availability.ts).
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { Job, Processor } from 'bullmq';
import type { Logger } from 'pino';
import { REDIS_NOISE } from '../core/logger';
import { isRedisUnavailable } from '../core/redis-errors';
import { HandBackError, isHandedBackFailure, NotHandedBackError } from './hand-back';

/** At most one warning this often about Redis failing chunks. */
const WARN_EVERY_MS = 10_000;

export interface InfrastructureGuardOptions {
  /** How long handing a chunk back is tried (its lock is gone by then anyway: LOCK_DURATION_MS). */
  handBackForMs: number;
  /** Aborts when the process is stopping: the hand-back is left to the stall check. */
  shutdownSignal: AbortSignal;
  /** First delay before a handed-back chunk runs again. @defaultValue 500 */
  firstDelayMs?: number;
  /** Longest delay. @defaultValue 15000 */
  maxDelayMs?: number;
  /** At most one warning this often. @defaultValue 10000 */
  warnEveryMs?: number;
}

export class InfrastructureGuard {
  /** Redis failures in a row in this process (any chunk); a chunk that runs through resets it. */
  private failuresInARow = 0;
  private readonly firstDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly warnEveryMs: number;
  /** When the last warning went out, and the failures since that it did not tell. */
  private warnedAt = Number.NEGATIVE_INFINITY;
  private untold = 0;

  constructor(
    private readonly logger: Logger,
    private readonly options: InfrastructureGuardOptions,
  ) {
    this.firstDelayMs = options.firstDelayMs ?? 500;
    this.maxDelayMs = options.maxDelayMs ?? 15_000;
    this.warnEveryMs = options.warnEveryMs ?? WARN_EVERY_MS;
  }

  /** Wraps a chunk processor: a Redis failure hands the chunk back rather than failing the attempt. */
  wrap<D, R>(processor: Processor<D, R>): Processor<D, R> {
    return async (job, token, signal) => {
      try {
        const result = await processor(job, token, signal);
        this.failuresInARow = 0;
        return result;
      } catch (error) {
        if (!isHandedBackFailure(error)) throw error;
        this.failuresInARow++;
        const laterMs = Math.min(this.maxDelayMs, this.firstDelayMs * 2 ** Math.min(this.failuresInARow - 1, 16));
        this.warn(error as Error, laterMs);
        if (await this.handBack(job, token, laterMs)) throw new HandBackError('redis_unavailable');
        // Not handed back: not counted nor logged as a hand-back; the stalled checker gives the job back.
        throw new NotHandedBackError();
      }
    };
  }

  /** One warning per warnEveryMs at most, with the failures left untold since the last one. */
  private warn(error: Error, retryInMs: number): void {
    const now = Date.now();
    if (now - this.warnedAt < this.warnEveryMs) {
      this.untold++;
      return;
    }
    // Marked as Redis noise: a lost connection's line is then left to the outage's account (core/logger.ts);
    // a Redis that answers but refuses (full, read-only) is still told here.
    this.logger.warn(
      { ...REDIS_NOISE, err: error.message, retryInMs, alsoSinceLastWarning: this.untold },
      'Redis failed chunks; handing them back to the queue without using attempts',
    );
    this.warnedAt = now;
    this.untold = 0;
  }

  /** Answers whether the chunk was moved back to the queue. */
  private async handBack(job: Job, token: string | undefined, laterMs: number): Promise<boolean> {
    const deadline = Date.now() + this.options.handBackForMs;
    for (let wait = 100; ; wait = Math.min(wait * 2, 2_000)) {
      try {
        await job.moveToDelayed(Date.now() + laterMs, token);
        return true;
      } catch (error) {
        // Anything else (the lock is gone: another worker has the chunk, or the stall check will) ends it.
        if (!isRedisUnavailable(error) || Date.now() + wait > deadline || this.options.shutdownSignal.aborted) return false;
      }
      await delay(wait);
    }
  }
}
