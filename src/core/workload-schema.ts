/**
 * What `POST /v1/workloads` accepts, validated once at the edge. The shapes (strict objects, each field
 * described) are the contract's (src/contract/workload-submission.ts); here is what needs the task
 * registry: each compute input checked against its task's own schema, so a worker never receives an item
 * it cannot run.
 */
import type { z } from 'zod';
import { LIMITS, type ArrayBindings, type ComputeSubmission, type FetchSubmission } from '../contract';
import { ARRAY_TASKS, findArrayTask, type ArrayTaskDefinition } from './array-tasks';
import { ValidationError, type ErrorDetail } from './errors';
import { findTask, listTasks } from './tasks/task-registry';
import type { TaskDefinition } from './tasks/task-definition';
import type { FetchOptions, FetchRequestSpec } from './workload';

/** A fetch submission's items as uniform requests (`urls` become GETs), bodies ready to send. */
export function toFetchRequests(submission: FetchSubmission): FetchRequestSpec[] {
  if (submission.urls) return submission.urls.map((url) => ({ url }));
  return (submission.requests ?? []).map(({ url, method, headers, body }) => {
    if (body === undefined) return { url, method, headers };
    if (typeof body === 'string') return { url, method, headers, body };
    const hasType = Object.keys(headers ?? {}).some((name) => name.toLowerCase() === 'content-type');
    return { url, method, headers: hasType ? headers : { ...headers, 'content-type': 'application/json' }, body: JSON.stringify(body) };
  });
}

/** A fetch submission's options with every default filled in, as its chunk jobs carry them. */
export function toFetchOptions(submission: FetchSubmission): FetchOptions {
  return {
    extract: submission.extract,
    concurrency: submission.concurrency ?? LIMITS.defaultFetchConcurrency,
    perHostConcurrency: submission.perHostConcurrency ?? LIMITS.defaultPerHostConcurrency,
    timeoutMs: submission.timeoutMs ?? LIMITS.defaultFetchTimeoutMs,
    retries: submission.retries ?? LIMITS.defaultFetchRetries,
    maxResponseBytes: submission.maxResponseBytes ?? LIMITS.defaultMaxResponseBytes,
  };
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
export function resolveComputeTask(submission: ComputeSubmission): TaskDefinition | ArrayTaskDefinition {
  if (submission.arrays) return resolveArrayTask(submission, submission.arrays);
  const inputs = submission.inputs ?? [];
  const task = findTask(submission.task);
  if (!task) {
    throw new ValidationError(`Unknown task "${submission.task.slice(0, 100)}".`, [
      {
        path: 'task',
        message: `must be one of: ${listTasks()
          .map((known) => known.name)
          .join(', ')}`,
      },
    ]);
  }
  const details: ErrorDetail[] = [];
  for (let index = 0; index < inputs.length && details.length < LIMITS.maxReportedIssues; index++) {
    const parsed = task.input.safeParse(inputs[index]);
    if (!parsed.success) details.push(...issuesToDetails(parsed.error.issues, ['inputs', index]));
  }
  if (details.length > 0) {
    throw new ValidationError(`Some inputs are not valid for task "${task.name}".`, details.slice(0, LIMITS.maxReportedIssues));
  }
  if (submission.cache && !task.deterministic) {
    throw new ValidationError(`Task "${task.name}" is not deterministic, so its results cannot be cached.`, [
      { path: 'cache', message: 'only deterministic tasks may use the result cache' },
    ]);
  }
  if (submission.reduce && submission.reduce !== 'count' && task.output === 'other') {
    throw new ValidationError(`Task "${task.name}" does not return numbers, so it cannot be reduced with "${submission.reduce}".`, [
      { path: 'reduce', message: 'only "count" applies to this task' },
    ]);
  }
  return task;
}

/** An array workload's task, with its `arrays` checked against what the task reads and writes. */
function resolveArrayTask(submission: ComputeSubmission, arrays: ArrayBindings): ArrayTaskDefinition {
  const task = findArrayTask(submission.task);
  if (!task) {
    throw new ValidationError(`Task "${submission.task.slice(0, 100)}" does not run over arrays.`, [
      { path: 'task', message: `with "arrays", must be one of: ${ARRAY_TASKS.map((known) => known.name).join(', ')}` },
    ]);
  }
  const details: ErrorDetail[] = [];
  const wanted = new Set<string>([...task.reads, ...(task.writes ? ['out'] : [])]);
  for (const role of ['x', 'y', 'out'] as const) {
    if (wanted.has(role) && arrays[role] === undefined) details.push({ path: `arrays.${role}`, message: `task "${task.name}" needs it` });
    if (!wanted.has(role) && arrays[role] !== undefined) details.push({ path: `arrays.${role}`, message: `task "${task.name}" does not use it` });
  }
  // An item reads its slices and then writes its out slice; a retry of an item whose out is one of its
  // inputs would read what the first run wrote.
  if (arrays.out !== undefined && (arrays.out === arrays.x || arrays.out === arrays.y)) {
    details.push({ path: 'arrays.out', message: 'must differ from the input arrays' });
  }
  if (details.length > 0) throw new ValidationError(`The arrays do not fit task "${task.name}".`, details);
  return task;
}
