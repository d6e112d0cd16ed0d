/**
 * What `POST /v1/workloads` accepts, validated once at the edge. Objects are strict: a misspelt
 * field ("chunksize") is an error, not silently ignored. Each compute input is then checked against its
 * task's own schema, so a worker never receives an item it cannot run.
 */
import { z } from 'zod';
import { ValidationError, type ErrorDetail } from './errors';
import { REDUCE_OPERATIONS } from './reduce';
import { findTask, listTasks } from './tasks/task-registry';
import type { TaskDefinition } from './tasks/task-definition';

export const LIMITS = {
  maxChunkSize: 100_000,
  maxAttempts: 20,
  maxTimeoutMs: 24 * 60 * 60 * 1000,
  minPriority: 1,
  maxPriority: 100,
  /** The priority of a workload that names none; smaller runs first. */
  normalPriority: 50,
  /** How many problems one 400 answer lists at most. */
  maxReportedIssues: 20,
} as const;

const commonOptions = {
  chunkSize: z.number().int().min(1).max(LIMITS.maxChunkSize).optional(),
  attempts: z.number().int().min(1).max(LIMITS.maxAttempts).optional(),
  timeoutMs: z.number().int().min(1).max(LIMITS.maxTimeoutMs).optional(),
  priority: z.number().int().min(LIMITS.minPriority).max(LIMITS.maxPriority).optional(),
};

export function computeSubmissionSchema(maxItems: number) {
  return z.strictObject({
    type: z.literal('compute'),
    task: z.string().min(1).max(100),
    inputs: z.array(z.unknown()).min(1).max(maxItems),
    reduce: z.enum(REDUCE_OPERATIONS).optional(),
    ...commonOptions,
  });
}

export type ComputeSubmission = z.infer<ReturnType<typeof computeSubmissionSchema>>;
export type WorkloadSubmission = ComputeSubmission;

export function submissionSchema(maxItems: number) {
  return z.discriminatedUnion('type', [computeSubmissionSchema(maxItems)]);
}

export function issuesToDetails(issues: z.core.$ZodIssue[], pathPrefix: Array<string | number> = []): ErrorDetail[] {
  return issues.slice(0, LIMITS.maxReportedIssues).map((issue) => ({
    path: [...pathPrefix, ...issue.path].map(String).join('.'),
    message: issue.message,
  }));
}

/** Parses with a zod schema or throws a ValidationError listing what is wrong and where. */
export function parseOrThrow<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new ValidationError(`${what} is not valid.`, issuesToDetails(parsed.error.issues));
  return parsed.data;
}

/** The task a compute submission names, with every input checked against the task's schema. */
export function resolveComputeTask(submission: ComputeSubmission): TaskDefinition {
  const task = findTask(submission.task);
  if (!task) {
    throw new ValidationError(`Unknown task "${submission.task.slice(0, 100)}".`, [
      { path: 'task', message: `must be one of: ${listTasks().map((known) => known.name).join(', ')}` },
    ]);
  }
  const details: ErrorDetail[] = [];
  for (let index = 0; index < submission.inputs.length && details.length < LIMITS.maxReportedIssues; index++) {
    const parsed = task.input.safeParse(submission.inputs[index]);
    if (!parsed.success) details.push(...issuesToDetails(parsed.error.issues, ['inputs', index]));
  }
  if (details.length > 0) {
    throw new ValidationError(`Some inputs are not valid for task "${task.name}".`, details.slice(0, LIMITS.maxReportedIssues));
  }
  if (submission.reduce && submission.reduce !== 'count' && task.output === 'other') {
    throw new ValidationError(`Task "${task.name}" does not return numbers, so it cannot be reduced with "${submission.reduce}".`, [
      { path: 'reduce', message: 'only "count" applies to this task' },
    ]);
  }
  return task;
}
