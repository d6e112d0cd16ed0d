/**
 * The error a chunk processor throws once it has handed its chunk back to the queue (job.moveToDelayed):
 * BullMQ's DelayedError, so that BullMQ leaves the job where it was moved and uses no attempt, carrying
 * why, for the hand-back's metric and log line (worker-metrics.ts).
 */
import { DelayedError } from 'bullmq';
import type { HandBackReason } from '../core/metrics';

export class HandBackError extends DelayedError {
  constructor(readonly reason: HandBackReason) {
    super();
    // BullMQ tells a DelayedError by its class or by this name.
    this.name = 'DelayedError';
  }
}
