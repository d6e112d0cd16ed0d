/**
 * The contract's named schemas as JSON Schema (draft 2020-12, what OpenAPI 3.1 uses): one definition per
 * name, references between them as `$ref`s built by `ref`. The OpenAPI document (components.schemas) and
 * the SDK's generated types (src/sdk/contract.generated.ts) are both made from this.
 */
import { z } from 'zod';
import { apiErrorSchema } from './errors';
import { progressDataSchema, resultEventSchema } from './events';
import { storedArraySchema } from './arrays';
import { taskInfoSchema, taskListSchema } from './tasks';
import { workerInfoSchema, workerListSchema } from './workers';
import {
  failedItemSchema,
  fetchItemResultSchema,
  itemErrorSchema,
  itemErrorViewSchema,
  resultItemSchema,
  resultsHeadSchema,
  resultsLineSchema,
  submitAnswerSchema,
  workloadListSchema,
  workloadResultsSchema,
  workloadStatusSchema,
  workloadViewSchema,
} from './workload-answers';
import { arrayBindingsSchema, fetchRequestSchema, reduceOperation, submissionSchemas } from './workload-submission';

export type JsonSchema = Record<string, unknown>;

/** What a request may send, by name (zod's input side: defaults optional). */
export function requestSchemas(maxItems: number) {
  const { compute, fetch, submission } = submissionSchemas(maxItems);
  return {
    WorkloadSubmission: submission,
    ComputeSubmission: compute,
    FetchSubmission: fetch,
    FetchRequest: fetchRequestSchema,
    ArrayBindings: arrayBindingsSchema,
    ReduceOperation: reduceOperation,
  };
}

/** What the API answers, by name (the names of the OpenAPI document's components). */
export const ANSWER_SCHEMAS = {
  WorkloadStatus: workloadStatusSchema,
  SubmitAnswer: submitAnswerSchema,
  Workload: workloadViewSchema,
  WorkloadList: workloadListSchema,
  ItemError: itemErrorSchema,
  ItemErrorView: itemErrorViewSchema,
  WorkloadResults: workloadResultsSchema,
  ResultsHead: resultsHeadSchema,
  ResultItem: resultItemSchema,
  FailedItem: failedItemSchema,
  ResultsLine: resultsLineSchema,
  FetchItemResult: fetchItemResultSchema,
  ProgressData: progressDataSchema,
  ResultEvent: resultEventSchema,
  TaskInfo: taskInfoSchema,
  TaskList: taskListSchema,
  StoredArray: storedArraySchema,
  WorkerInfo: workerInfoSchema,
  WorkerList: workerListSchema,
  Error: apiErrorSchema,
} as const;

/** The name of the schema each event's data follows (see events.ts). */
export const EVENT_SCHEMA_NAMES = { progress: 'ProgressData', result: 'ResultEvent', done: 'ProgressData', error: 'Error' } as const;

const OPTIONS = { target: 'draft-2020-12', unrepresentable: 'any' } as const;

/** A JSON Schema of one zod schema, inline (no references), without `$schema`. */
export function toJsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { ...OPTIONS, io });
  return rest;
}

function fromRegistry(schemas: Record<string, z.ZodType>, io: 'input' | 'output', ref: (name: string) => string): Record<string, JsonSchema> {
  const registry = z.registry<{ id: string }>();
  for (const [name, schema] of Object.entries(schemas)) registry.add(schema, { id: name });
  const { schemas: converted } = z.toJSONSchema(registry, { ...OPTIONS, io, uri: ref }) as { schemas: Record<string, JsonSchema> };
  // `$id` would be a fragment (not allowed in 2020-12) and `$schema` is the document's own dialect.
  return Object.fromEntries(Object.entries(converted).map(([name, { $id: _id, $schema: _dialect, ...rest }]) => [name, rest]));
}

/** Every named schema of the contract as JSON Schema: requests as they may be sent, answers as they are. */
export function contractJsonSchemas(options: { maxItems: number; ref: (name: string) => string }): Record<string, JsonSchema> {
  return {
    ...fromRegistry(requestSchemas(options.maxItems), 'input', options.ref),
    ...fromRegistry(ANSWER_SCHEMAS, 'output', options.ref),
  };
}
