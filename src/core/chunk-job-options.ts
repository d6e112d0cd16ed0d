/**
 * The BullMQ options of a workload's chunk jobs, from its record: one place, because the producer adds
 * them at submission and the reconciler adds a lost chunk's job again later, and the two must agree.
 */
import type { JobsOptions } from 'bullmq';
import type { WorkloadRecord } from './workload';

export interface ChunkJobSettings {
  /** First retry delay of a failed chunk (RETRY_BACKOFF_MS). */
  RETRY_BACKOFF_MS: number;
  /** How long a failed chunk job is kept for the lost-chunk reaper (RESULT_TTL_SECONDS). */
  RESULT_TTL_SECONDS: number;
}

export function chunkJobOptions(record: Pick<WorkloadRecord, 'attempts' | 'priority'>, settings: ChunkJobSettings): JobsOptions {
  return {
    attempts: record.attempts,
    backoff: { type: 'exponential', delay: settings.RETRY_BACKOFF_MS },
    priority: record.priority,
    removeOnComplete: true,
    removeOnFail: { age: settings.RESULT_TTL_SECONDS },
  };
}
