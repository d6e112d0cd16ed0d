/**
 * What `POST /v1/workloads` accepts. Objects are strict: a misspelt field ("chunksize") is an error, not
 * silently ignored. The shapes and their descriptions live here once; core/workload-schema.ts adds what
 * needs the task registry (each compute input checked against its task's own schema).
 */
import { z } from 'zod';
import { DEFAULT_ELEMENTS_PER_ITEM } from '../core/array-tasks';
import { MAX_DEFAULT_CHUNK_SIZE, TARGET_CHUNKS } from '../core/chunk-planner';
import { extractPathProblem } from '../core/extract-path';
import { arrayName } from './arrays';
import { LIMITS } from './limits';

export const REDUCE_OPERATIONS = ['sum', 'min', 'max', 'count'] as const;
export const reduceOperation = z
  .enum(REDUCE_OPERATIONS)
  .meta({ description: 'Combine every result into `reduced`: exact for integers (beyond 2^53 as decimal strings); `count` counts the successful items' });
export type ReduceOperation = z.infer<typeof reduceOperation>;

/** The default number of attempts of a chunk. */
export const DEFAULT_ATTEMPTS = 3;

const commonOptions = {
  chunkSize: z
    .number()
    .int()
    .min(1)
    .max(LIMITS.maxChunkSize)
    .optional()
    .meta({
      description:
        "Items per chunk job (the unit a worker takes, retries and locks). Default: the server's rule, " +
        `ceil(items / ${TARGET_CHUNKS}) between 1 and ${MAX_DEFAULT_CHUNK_SIZE} items (fetch: at least \`concurrency\`, so one chunk can fill it)`,
    }),
  attempts: z
    .number()
    .int()
    .min(1)
    .max(LIMITS.maxAttempts)
    .optional()
    .meta({ description: `How many times a chunk may run (a crashed worker, a failed item). Default ${DEFAULT_ATTEMPTS}` }),
  timeoutMs: z
    .number()
    .int()
    .min(1)
    .max(LIMITS.maxTimeoutMs)
    .optional()
    .meta({ description: 'Per item, in ms: an item running longer fails with ITEM_TIMEOUT. Default: none' }),
  priority: z
    .number()
    .int()
    .min(LIMITS.minPriority)
    .max(LIMITS.maxPriority)
    .optional()
    .meta({ description: `${LIMITS.minPriority} (most urgent) to ${LIMITS.maxPriority}. Default ${LIMITS.normalPriority}` }),
};

/** The arrays an array task works on (see core/array-tasks.ts): inputs `x` (and `y`), output `out`. */
export const arrayBindingsSchema = z
  .strictObject({
    x: arrayName.meta({ description: 'The first input array' }),
    y: arrayName.optional().meta({ description: 'The second input array (mulArrays, dot)' }),
    out: arrayName.optional().meta({ description: 'The output array (mulArrays); written element range by element range' }),
  })
  .meta({ description: 'The named arrays (`PUT /v1/arrays/{name}` first) an array task reads and writes' });
export type ArrayBindings = z.infer<typeof arrayBindingsSchema>;

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
          'must not carry a user name or password (user:password@host); send the credentials in an "Authorization" header instead ("requests": ' +
          '[{"url": ..., "headers": {"Authorization": ...}}])',
      });
    }
  });

export const fetchRequestSchema = z
  .strictObject({
    url: httpUrl.meta({ description: 'An absolute http:// or https:// URL, without user name or password' }),
    method: z.enum(FETCH_METHODS).optional().meta({ description: 'Default GET' }),
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
      .optional()
      .meta({ description: 'Request headers (kept out of the chunk jobs: they may hold credentials)' }),
    body: z.unknown().optional().meta({ description: 'A string is sent as is; any other JSON value is sent as JSON' }),
  })
  .meta({ description: 'One request of a fetch workload, when a bare URL is not enough' });
export type FetchRequest = z.infer<typeof fetchRequestSchema>;

/** The fields of a submission that hold its items (or name its task), not options. */
export const SUBMISSION_ITEM_FIELDS = ['type', 'task', 'inputs', 'arrays', 'urls', 'requests'] as const;

export function computeSubmissionSchema(maxItems: number) {
  return z
    .strictObject({
      type: z.literal('compute'),
      task: z.string().min(1).max(100).meta({ description: 'The compute task (`GET /v1/tasks`)' }),
      inputs: z
        .array(z.unknown())
        .min(1)
        .max(maxItems)
        .optional()
        .meta({ description: "The items: one input each, valid for the task's input schema. Give `inputs` or `arrays`" }),
      arrays: arrayBindingsSchema.optional(),
      elementsPerItem: z
        .number()
        .int()
        .min(1)
        .max(LIMITS.maxElementsPerItem)
        .optional()
        .meta({ description: `Array workloads: elements per item. Default ${DEFAULT_ELEMENTS_PER_ITEM}` }),
      reduce: reduceOperation.optional(),
      cache: z.boolean().optional().meta({
        description:
          'Answer items computed before (same task, same input, within CACHE_TTL_SECONDS) from the result cache; deterministic tasks and `inputs` only',
      }),
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
    })
    .meta({ description: 'A compute workload: a task run over each input (or over element ranges of named arrays)' });
}

export type ComputeSubmission = z.infer<ReturnType<typeof computeSubmissionSchema>>;

export function fetchSubmissionSchema(maxItems: number) {
  return z
    .strictObject({
      type: z.literal('fetch'),
      urls: z.array(httpUrl).min(1).max(maxItems).optional().meta({ description: 'The items: URLs to GET. Give `urls` or `requests`' }),
      requests: z.array(fetchRequestSchema).min(1).max(maxItems).optional().meta({ description: 'The items: requests (method, headers, body)' }),
      extract: z
        .string()
        .min(1)
        .max(LIMITS.maxExtractLength)
        .superRefine((path, context) => {
          const problem = extractPathProblem(path);
          if (problem) context.addIssue({ code: 'custom', message: problem });
        })
        .optional()
        .meta({ description: "A dotted path into each JSON body (`main.temp`); the item's `value` is what it points at. Default: the whole body" }),
      concurrency: z
        .number()
        .int()
        .min(1)
        .max(LIMITS.maxFetchConcurrency)
        .optional()
        .meta({ description: `Requests in flight for the whole workload, across every worker. Default ${LIMITS.defaultFetchConcurrency}` }),
      perHostConcurrency: z
        .number()
        .int()
        .min(1)
        .max(LIMITS.maxPerHostConcurrency)
        .optional()
        .meta({ description: `Requests in flight to one origin from one worker process. Default ${LIMITS.defaultPerHostConcurrency}` }),
      retries: z
        .number()
        .int()
        .min(0)
        .max(LIMITS.maxFetchRetries)
        .optional()
        .meta({ description: `Retries of one request after a network error, a timeout, a 5xx or a 429. Default ${LIMITS.defaultFetchRetries}` }),
      maxResponseBytes: z
        .number()
        .int()
        .min(1)
        .max(LIMITS.maxMaxResponseBytes)
        .optional()
        .meta({ description: `The response size cap: a longer body is an item error (FETCH_TOO_LARGE). Default ${LIMITS.defaultMaxResponseBytes} (1 MiB)` }),
      ...commonOptions,
      timeoutMs: z
        .number()
        .int()
        .min(1)
        .max(LIMITS.maxFetchTimeoutMs)
        .optional()
        .meta({ description: `Per request attempt, in ms, headers and body included. Default ${LIMITS.defaultFetchTimeoutMs}` }),
    })
    .superRefine((submission, context) => {
      if ((submission.urls === undefined) === (submission.requests === undefined)) {
        context.addIssue({ code: 'custom', path: ['urls'], message: 'give exactly one of "urls" and "requests"' });
      }
    })
    .meta({ description: 'A fetch workload: HTTP requests made by the workers, many at once' });
}

export type FetchSubmission = z.infer<ReturnType<typeof fetchSubmissionSchema>>;
export type WorkloadSubmission = ComputeSubmission | FetchSubmission;

/** The submission schemas for a producer that takes at most `maxItems` items per workload. */
export function submissionSchemas(maxItems: number) {
  const compute = computeSubmissionSchema(maxItems);
  const fetch = fetchSubmissionSchema(maxItems);
  return { compute, fetch, submission: z.discriminatedUnion('type', [compute, fetch]).meta({ description: 'A workload: compute or fetch' }) };
}

export function submissionSchema(maxItems: number) {
  return submissionSchemas(maxItems).submission;
}

/** A kind of submission's option fields: every field but its items, its type and its task, in the contract's order. */
export function submissionOptionFields(kind: 'compute' | 'fetch'): string[] {
  const schema = kind === 'compute' ? computeSubmissionSchema(1) : fetchSubmissionSchema(1);
  return Object.keys(schema.shape).filter((field) => !(SUBMISSION_ITEM_FIELDS as readonly string[]).includes(field));
}
