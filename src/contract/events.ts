/**
 * The events of `GET /v1/workloads/{id}/events` (Server-Sent Events): each event's name and the
 * schema of its `data` (one JSON text).
 */
import { z } from 'zod';
import { apiErrorSchema } from './errors';
import { failedItemSchema, resultItemSchema, workloadStatusSchema } from './workload-answers';

/** The data of `progress` (on connect and after every batch of finished items) and `done` (final status; the stream ends). */
export const progressDataSchema = z
  .object({
    status: workloadStatusSchema,
    completed: z.number().int().meta({ description: 'Items finished successfully' }),
    failed: z.number().int().meta({ description: 'Items failed for good' }),
    total: z.number().int().meta({ description: "The workload's item count" }),
  })
  .strict()
  .meta({ description: "The workload's counters" });
export type ProgressData = z.infer<typeof progressDataSchema>;

/** The data of `result`: one finished item, sent once, in completion order. */
export const resultEventSchema = z.union([resultItemSchema, failedItemSchema]).meta({ description: 'A finished item' });
export type ResultEvent = z.infer<typeof resultEventSchema>;

/** Each event's data by the event's name; `error` ends a stream whose workload vanished (WORKLOAD_LOST, NOT_FOUND). */
export const WORKLOAD_EVENTS = {
  progress: progressDataSchema,
  result: resultEventSchema,
  done: progressDataSchema,
  error: apiErrorSchema,
} as const;
export type WorkloadEventName = keyof typeof WORKLOAD_EVENTS;
