/**
 * What `POST /v1/workloads` accepts, validated once at the edge. Objects are strict: a misspelt
 * field ("chunksize") is an error, not silently ignored. Each compute input is then checked against its
 * task's own schema, so a worker never receives an item it cannot run.
 */
import { z } from 'zod';
import { ARRAY_NAME } from './array-store';
import { ARRAY_TASKS, findArrayTask, type ArrayTaskDefinition } from './array-tasks';
import { ValidationError, type ErrorDetail } from './errors';
import { extractPathProblem } from './extract-path';
import { REDUCE_OPERATIONS } from './reduce';
import { findTask, listTasks } from './tasks/task-registry';
import type { TaskDefinition } from './tasks/task-definition';
import type { FetchOptions, FetchRequestSpec } from './workload';

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
  /** Fetch: requests in flight for the whole workload, across every worker (enforced through Redis). */
  defaultFetchConcurrency: 16,
  maxFetchConcurrency: 1000,
  /** Fetch: requests in flight to one origin from one worker process. */
  defaultPerHostConcurrency: 8,
  maxPerHostConcurrency: 256,
  /** Fetch: per request attempt, headers and body included. */
  defaultFetchTimeoutMs: 10_000,
  maxFetchTimeoutMs: 5 * 60 * 1000,
  /** Fetch: retries of one request after a network error, a timeout, a 5xx or a 429. */
  defaultFetchRetries: 2,
  maxFetchRetries: 10,
  /** Fetch: the response size cap; a longer body is an item error (FETCH_TOO_LARGE). */
  defaultMaxResponseBytes: 1024 * 1024,
  maxMaxResponseBytes: 16 * 1024 * 1024,
  maxUrlLength: 8192,
  maxExtractLength: 512,
  /** Arrays: elements per item at most (64 MiB per array slice in a worker's memory). */
  maxElementsPerItem: 8 * 1024 * 1024,
} as const;

const commonOptions = {
  chunkSize: z.number().int().min(1).max(LIMITS.maxChunkSize).optional(),
  attempts: z.number().int().min(1).max(LIMITS.maxAttempts).optional(),
  timeoutMs: z.number().int().min(1).max(LIMITS.maxTimeoutMs).optional(),
  priority: z.number().int().min(LIMITS.minPriority).max(LIMITS.maxPriority).optional(),
};

const arrayName = z.string().regex(ARRAY_NAME, 'must be an array name: letters, digits, "_" and "-" (1-64)');

/** The arrays an array task works on (see array-tasks.ts): inputs `x` (and `y`), output `out`. */
export const arrayBindingsSchema = z.strictObject({ x: arrayName, y: arrayName.optional(), out: arrayName.optional() });
export type ArrayBindings = z.infer<typeof arrayBindingsSchema>;

export function computeSubmissionSchema(maxItems: number) {
  return z
    .strictObject({
      type: z.literal('compute'),
      task: z.string().min(1).max(100),
      inputs: z.array(z.unknown()).min(1).max(maxItems).optional(),
      /** Instead of `inputs`: named arrays, cut into items of `elementsPerItem` elements. */
      arrays: arrayBindingsSchema.optional(),
      elementsPerItem: z.number().int().min(1).max(LIMITS.maxElementsPerItem).optional(),
      reduce: z.enum(REDUCE_OPERATIONS).optional(),
      /** Answer items computed before (same task, same input, within CACHE_TTL_SECONDS) from the result cache. */
      cache: z.boolean().optional(),
      ...commonOptions,
    })
    .superRefine((submission, context) => {
      if ((submission.inputs === undefined) === (submission.arrays === undefined)) {
        context.addIssue({ code: 'custom', path: ['inputs'], message: 'give exactly one of "inputs" and "arrays"' });
      }
      if (submission.elementsPerItem !== undefined && submission.arrays === undefined) {
        context.addIssue({ code: 'custom', path: ['elementsPerItem'], message: 'applies to "arrays" workloads only' });
      }
      if (submission.cache && submission.arrays !== undefined) {
        // An array's contents change under the same name, so a cached answer could be stale.
        context.addIssue({ code: 'custom', path: ['cache'], message: 'applies to "inputs" workloads only' });
      }
    });
}

export type ComputeSubmission = z.infer<ReturnType<typeof computeSubmissionSchema>>;

export const FETCH_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;
export type FetchMethod = (typeof FETCH_METHODS)[number];

/** Headers undici or the connection manage themselves; a request may not set them. */
const RESERVED_HEADERS = new Set([
  'host',
  'connection',
  'content-length',
  'transfer-encoding',
  'keep-alive',
  'upgrade',
  'te',
  'trailer',
  'expect',
  'proxy-authorization',
  'proxy-connection',
]);

// Only the scheme is checked here; addresses are checked by the worker on the resolved IP of every
// connection, since a name resolved now may point elsewhere when the request is made (DNS rebinding).
const httpUrl = z
  .string()
  .max(LIMITS.maxUrlLength)
  .superRefine((value, context) => {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      context.addIssue({ code: 'custom', message: 'must be an absolute http:// or https:// URL' });
      return;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') context.addIssue({ code: 'custom', message: 'must be an absolute http:// or https:// URL' });
    // Credentials in a URL would be stored and shown with it (results[i].url, the jobs): refused, and
    // the message never repeats them.
    else if (url.username !== '' || url.password !== '') {
      context.addIssue({
        code: 'custom',
        message:
          'must not carry a user name or password (user:password@host); send the credentials in an "Authorization" header instead ("requests": [{"url": ..., "headers": {"Authorization": ...}}])',
      });
    }
  });

const fetchRequest = z.strictObject({
  url: httpUrl,
  method: z.enum(FETCH_METHODS).optional(),
  headers: z
    .record(
      z
        .string()
        .regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,256}$/, 'must be an HTTP header name')
        .refine((name) => !RESERVED_HEADERS.has(name.toLowerCase()), 'is set by chunkmill itself'),
      z
        .string()
        .max(8192)
        .regex(/^[^\r\n\0]*$/, 'must not contain CR, LF or NUL'),
    )
    .optional(),
  /** A string is sent as is; any other JSON value is sent as JSON. */
  body: z.unknown().optional(),
});

export function fetchSubmissionSchema(maxItems: number) {
  return z
    .strictObject({
      type: z.literal('fetch'),
      urls: z.array(httpUrl).min(1).max(maxItems).optional(),
      requests: z.array(fetchRequest).min(1).max(maxItems).optional(),
      extract: z
        .string()
        .min(1)
        .max(LIMITS.maxExtractLength)
        .superRefine((path, context) => {
          const problem = extractPathProblem(path);
          if (problem) context.addIssue({ code: 'custom', message: problem });
        })
        .optional(),
      concurrency: z.number().int().min(1).max(LIMITS.maxFetchConcurrency).optional(),
      perHostConcurrency: z.number().int().min(1).max(LIMITS.maxPerHostConcurrency).optional(),
      retries: z.number().int().min(0).max(LIMITS.maxFetchRetries).optional(),
      maxResponseBytes: z.number().int().min(1).max(LIMITS.maxMaxResponseBytes).optional(),
      ...commonOptions,
      timeoutMs: z.number().int().min(1).max(LIMITS.maxFetchTimeoutMs).optional(),
    })
    .superRefine((submission, context) => {
      if ((submission.urls === undefined) === (submission.requests === undefined)) {
        context.addIssue({ code: 'custom', path: ['urls'], message: 'give exactly one of "urls" and "requests"' });
      }
    });
}

export type FetchSubmission = z.infer<ReturnType<typeof fetchSubmissionSchema>>;
export type WorkloadSubmission = ComputeSubmission | FetchSubmission;

export function submissionSchema(maxItems: number) {
  return z.discriminatedUnion('type', [computeSubmissionSchema(maxItems), fetchSubmissionSchema(maxItems)]);
}

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
