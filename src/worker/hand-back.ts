/**
 * Handing a chunk back to the queue: why it happens, and the error a chunk processor throws once it has.
 *
 * A chunk is handed back (job.moveToDelayed, no attempt used) when its process is shutting down
 * (chunk-run.ts) or when Redis could not serve it (infrastructure-guard.ts, for every error that
 * `isHandedBackFailure` says yes to). The processor then throws a HandBackError: BullMQ's DelayedError,
 * so that BullMQ leaves the job where it was moved and uses no attempt, carrying why, for the hand-back's
 * metric and log line (worker-metrics.ts).
 */
import { DelayedError } from 'bullmq';
import type { HandBackReason } from '../core/metrics';
import { isRedisUnavailable } from '../core/redis-errors';

export class HandBackError extends DelayedError {
  constructor(readonly reason: HandBackReason) {
    super();
    // BullMQ tells a DelayedError by its class or by this name.
    this.name = 'DelayedError';
  }
}

/**
 * Whether a chunk's failure is one the infrastructure guard hands back rather than failing the attempt:
 * Redis could not serve (core/redis-errors.ts). The one test the guard and the chunk's span both use.
 */
export function isHandedBackFailure(error: unknown): boolean {
  return isRedisUnavailable(error);
}

/** Whether a chunk processor's error ends its run with the chunk back in the queue, no attempt used. */
export function endsInHandBack(error: unknown): boolean {
  return error instanceof DelayedError || isHandedBackFailure(error);
}

/**
 * Thrown instead of a HandBackError when handing the chunk back did not happen (its lock is gone, or Redis
 * stayed away until the process stopped or the lock ran out): neither a hand-back nor a failed attempt.
 *
 * Its name is DelayedError's, which BullMQ tells by name: BullMQ then leaves the job alone (no
 * moveToFailed, so no attempt used and no "failed" event) and takes the next one. It is not an instance
 * of DelayedError, so it is not counted nor logged as a hand-back (worker-metrics.ts counts the run as
 * failed). The job stays in the active list without a lock: BullMQ's stalled checker moves it back to
 * the waiting list (a stall, not an attempt; or, had another worker taken it already, it is that
 * worker's), and its items already recorded are skipped when it runs again.
 */
export class NotHandedBackError extends Error {
  constructor() {
    super('The chunk could not be handed back: left to the stalled checker');
    this.name = 'DelayedError';
  }
}
