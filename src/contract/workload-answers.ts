/** What the workload routes answer: a workload's view, the submit answer, results pages and stream lines. */
import { z } from 'zod';
import { isoTime } from './common';
import { apiErrorSchema } from './errors';

export const WORKLOAD_STATUSES = ['queued', 'running', 'completed', 'failed', 'cancelled'] as const;
export const workloadStatusSchema = z
  .enum(WORKLOAD_STATUSES)
  .meta({ description: 'queued → running → completed (every item succeeded) | failed (some item failed for good); queued | running → cancelled' });
export type WorkloadStatus = z.infer<typeof workloadStatusSchema>;

export const WORKLOAD_TYPES = ['compute', 'fetch'] as const;
export const workloadTypeSchema = z.enum(WORKLOAD_TYPES);
export type WorkloadType = z.infer<typeof workloadTypeSchema>;

const id = z.string().meta({ description: "The workload's id" });
const total = z.number().int().meta({ description: "The workload's item count" });
const completed = z.number().int().meta({ description: 'Items finished successfully' });
const failed = z.number().int().meta({ description: 'Items failed for good' });

/** What `POST /v1/workloads` answers. */
export const submitAnswerSchema = z
  .object({
    id,
    status: workloadStatusSchema,
    total,
    chunks: z.number().int().meta({ description: 'Chunk jobs the workload was cut into' }),
  })
  .meta({ description: 'An accepted workload' });
export type SubmitAnswer = z.infer<typeof submitAnswerSchema>;

/** A workload as the HTTP API shows it. */
export const workloadViewSchema = z
  .object({
    id,
    type: workloadTypeSchema,
    task: z.string().nullable().meta({ description: 'The compute task; null for a fetch workload' }),
    status: workloadStatusSchema,
    total,
    completed,
    failed,
    chunks: z.number().int().meta({ description: 'Chunk jobs the workload was cut into' }),
    createdAt: isoTime,
    startedAt: isoTime.nullable().meta({ description: 'When a worker started its first chunk' }),
    finishedAt: isoTime.nullable().meta({ description: 'When it reached a final status' }),
    durationMs: z.number().nullable().meta({ description: 'From start to finish (or to now, while running)' }),
  })
  .meta({ description: 'A workload: status and counters' });
export type WorkloadView = z.infer<typeof workloadViewSchema>;

/** What `GET /v1/workloads` answers. */
export const workloadListSchema = z.object({ workloads: z.array(workloadViewSchema).meta({ description: 'Newest first' }) });
export type WorkloadList = z.infer<typeof workloadListSchema>;

/** Why an item failed. */
export const itemErrorSchema = z.object({
  code: z.string().meta({ description: 'TASK_ERROR, ITEM_TIMEOUT, THREAD_CRASHED, FETCH_* …' }),
  message: z.string(),
});
export type ItemError = z.infer<typeof itemErrorSchema>;

/** A failed item of a results page. */
export const itemErrorViewSchema = z.object({ index: z.number().int().meta({ description: "The item's index in the workload" }), ...itemErrorSchema.shape });
export type ItemErrorView = z.infer<typeof itemErrorViewSchema>;

/** What `GET /v1/workloads/{id}/results` answers as JSON: a page of results. */
export const workloadResultsSchema = z
  .object({
    id,
    status: workloadStatusSchema,
    total: z.number().int().meta({ description: "The workload's item count (results may hold fewer: a page)" }),
    offset: z.number().int().meta({ description: 'The index of results[0]' }),
    results: z.array(z.unknown()).meta({ description: 'results[i] answers inputs[offset + i] (urls[offset + i]); null for a failed or unfinished item' }),
    errors: z.array(itemErrorViewSchema).meta({ description: 'The failed items of this page' }),
    reduced: z
      .union([z.number(), z.string(), z.null()])
      .meta({ description: 'Over every result of the workload, whatever the page; integers beyond 2^53 as decimal strings' }),
  })
  .meta({ description: 'Results per item, in input order' });
export type WorkloadResults = z.infer<typeof workloadResultsSchema>;

/** The first line of a results stream, and the data of the `progress` and `done` events. */
export const resultsHeadSchema = z
  .object({ id, status: workloadStatusSchema, total, completed, failed })
  .strict()
  .meta({ description: 'The first line of a results stream: the workload when the stream began' });
export type ResultsHead = z.infer<typeof resultsHeadSchema>;

export const resultItemSchema = z
  .object({ index: z.number().int().meta({ description: "The item's index in the workload" }), value: z.unknown().meta({ description: 'Its result' }) })
  .strict()
  .meta({ description: 'An item: its result, or null when it has no outcome yet' });
export type ResultItem = z.infer<typeof resultItemSchema>;

export const failedItemSchema = z
  .object({ index: z.number().int().meta({ description: "The item's index in the workload" }), value: z.null(), error: itemErrorSchema })
  .strict()
  .meta({ description: 'A failed item' });
export type FailedItem = z.infer<typeof failedItemSchema>;

/** One line of the NDJSON results stream. */
export const resultsLineSchema = z
  .union([
    resultsHeadSchema,
    resultItemSchema,
    failedItemSchema,
    apiErrorSchema.strict().meta({
      description: 'The last line when the stream cannot go on: the workload vanished (WORKLOAD_LOST, NOT_FOUND) or Redis failed (REDIS_UNAVAILABLE)',
    }),
  ])
  .meta({ description: 'One line of the NDJSON results stream (the schema applies to each line, not to the whole body)' });
export type ResultsLine = z.infer<typeof resultsLineSchema>;

/** A fetch item's result: `results[i]` of a fetch workload. */
export const fetchItemResultSchema = z
  .object({
    url: z.string().meta({ description: 'The URL as requested (before any redirect)' }),
    status: z.number().int().meta({ description: "The answer's HTTP status" }),
    ok: z.boolean().meta({ description: 'Whether the status is 2xx' }),
    ms: z.number().meta({ description: "From the first attempt's start to the last answer's end, retries included" }),
    bytes: z.number().int().meta({ description: 'Body bytes of the last answer' }),
    value: z.unknown().meta({ description: 'The body (parsed when JSON), or what `extract` points at' }),
  })
  .meta({ description: 'The result of one fetch item' });
export type FetchItemResult = z.infer<typeof fetchItemResultSchema>;
