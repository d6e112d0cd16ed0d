/**
 * The OpenAPI 3.1 document of the producer API, built from the contract (src/contract): its named
 * request and answer schemas become `components.schemas` (JSON Schema draft 2020-12, OpenAPI 3.1's
 * default dialect, which is what `z.toJSONSchema` emits), its query schemas the parameters, each
 * task's input schema a `TaskInput.<name>`. Nothing is written twice here: a field added to the
 * contract appears in the document. Served at `/openapi.json`; test/producer/openapi.test.ts checks
 * that every route the app answers is in it, and test/utils/openapi-validator.ts checks every answer
 * the tests receive against it.
 */
import type { z } from 'zod';
import { packageVersion } from '../core/package-version';
import { MAX_IDEMPOTENCY_KEY_LENGTH } from './idempotency';
import {
  ARRAY_NAME,
  arrayPutQuery,
  contractJsonSchemas,
  EVENT_SCHEMA_NAMES,
  listQuery,
  resultsQuery,
  toJsonSchema,
  WORKLOAD_ID,
  type JsonSchema,
} from '../contract';
import { listTasks } from '../core/tasks/task-registry';

const octetStream = { 'application/octet-stream': { schema: { type: 'string', contentMediaType: 'application/octet-stream' } } };

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: unknown, description: string) => ({ description, content: { 'application/json': { schema } } });
const errorAnswer = (description: string) => json(ref('Error'), description);
const arrayNameParameter = { name: 'name', in: 'path', required: true, schema: { type: 'string', pattern: ARRAY_NAME.source } };
const idParameter = { name: 'id', in: 'path', required: true, schema: { type: 'string', pattern: WORKLOAD_ID.source } };

/** Query parameters from a zod object schema, one per property. */
function queryParameters(schema: z.ZodObject): unknown[] {
  const json = toJsonSchema(schema, 'input') as { properties: Record<string, JsonSchema>; required?: string[] };
  return Object.entries(json.properties).map(([name, { description, ...property }]) => ({
    name,
    in: 'query',
    required: json.required?.includes(name) ?? false,
    ...(description === undefined ? {} : { description }),
    schema: property,
  }));
}

/**
 * A workload id the producer knows was accepted, whose state is gone from Redis before it could have
 * expired; an id never seen, or one that may have expired, is a 404 (see missing-workloads.ts).
 */
const lostAnswer = errorAnswer(
  'WORKLOAD_LOST: the workload was accepted, but its state is gone from Redis (restarted without its data, flushed, a lost cluster node); details: [{id}]',
);

const retryAfter = { 'Retry-After': { schema: { type: 'integer', minimum: 1 }, description: 'seconds to wait before trying again' } };

/** What every /v1 operation may answer besides its own: no token, the tenant's rate limit, Redis away. */
const v1Errors = {
  '429': {
    ...errorAnswer('RATE_LIMITED: past RATE_LIMIT_PER_MINUTE requests of this tenant in this minute (when tokens are configured)'),
    headers: retryAfter,
  },
  '401': {
    ...errorAnswer('UNAUTHORIZED: a bearer token is required (when API_TOKENS or ADMIN_TOKENS are set)'),
    headers: { 'WWW-Authenticate': { schema: { type: 'string' }, description: 'Bearer realm="chunkmill"' } },
  },
  '503': { ...errorAnswer('REDIS_UNAVAILABLE'), headers: retryAfter },
  default: errorAnswer('any other error, e.g. INTERNAL_ERROR (500)'),
};

export function buildOpenApiDocument(options: { maxItemsPerWorkload: number }): Record<string, unknown> {
  const taskInputs = Object.fromEntries(
    listTasks().map((task) => [`TaskInput.${task.name}`, { description: task.description, ...toJsonSchema(task.input, 'input') }]),
  );
  // No `jsonSchemaDialect`: 2020-12 is OpenAPI 3.1's default, and Swagger UI flags the field.
  return {
    openapi: '3.1.0',
    info: {
      title: 'chunkmill',
      version: packageVersion(),
      description:
        'A distributed job queue for chunked work: submit a workload (a list of items and what to do with each), follow it, read its results ' +
        'per item, in order.',
    },
    servers: [{ url: '/' }],
    tags: [{ name: 'workloads' }, { name: 'arrays' }, { name: 'tasks' }, { name: 'workers' }, { name: 'health' }, { name: 'metrics' }, { name: 'docs' }],
    paths: {
      '/healthz': {
        get: {
          tags: ['health'],
          summary: 'Alive',
          security: [],
          responses: { '200': json({ type: 'object', properties: { status: { const: 'ok' } } }, 'alive') },
        },
      },
      '/readyz': {
        get: {
          tags: ['health'],
          summary: 'Ready (Redis takes writes: a probe key written within REDIS_COMMAND_TIMEOUT_MS in each slot a submission needs; a 503 says why not)',
          security: [],
          responses: { '200': json({ type: 'object', properties: { status: { const: 'ready' } } }, 'ready'), '503': errorAnswer('REDIS_UNAVAILABLE') },
        },
      },
      '/metrics': {
        get: {
          tags: ['metrics'],
          summary:
            "The producer's Prometheus metrics: requests by method, route pattern and status, their latency, submissions by type and outcome, process metrics",
          description: 'Needs METRICS_TOKEN or an admin token as the bearer token; open when no token at all is configured.',
          responses: {
            '200': { description: 'Prometheus text exposition format', content: { 'text/plain': { schema: { type: 'string' } } } },
            '401': errorAnswer('UNAUTHORIZED: METRICS_TOKEN or an admin token is required'),
            '403': errorAnswer('FORBIDDEN: a tenant token that is not an admin'),
          },
        },
      },
      '/openapi.json': {
        get: { tags: ['docs'], summary: 'This document', security: [], responses: { '200': json({ type: 'object' }, 'the OpenAPI 3.1 document') } },
      },
      '/docs': {
        get: {
          tags: ['docs'],
          summary: 'The API reference page (Swagger UI)',
          security: [],
          responses: { '200': { description: 'HTML', content: { 'text/html': {} } } },
        },
      },
      '/v1/workloads': {
        post: {
          tags: ['workloads'],
          summary: 'Submit a workload',
          operationId: 'submitWorkload',
          parameters: [
            {
              name: 'Idempotency-Key',
              in: 'header',
              required: false,
              schema: { type: 'string', minLength: 1, maxLength: MAX_IDEMPOTENCY_KEY_LENGTH },
              description: 'a repeat with the same key answers the first workload (200) and enqueues nothing',
            },
          ],
          requestBody: { required: true, content: { 'application/json': { schema: ref('WorkloadSubmission') } } },
          responses: {
            '202': { ...json(ref('SubmitAnswer'), 'accepted'), headers: { Location: { schema: { type: 'string' } } } },
            '200': json(ref('SubmitAnswer'), 'a repeat of an Idempotency-Key: the first workload'),
            '400': errorAnswer('VALIDATION_FAILED'),
            '409': errorAnswer('IDEMPOTENCY_KEY_REUSED, IDEMPOTENCY_IN_PROGRESS'),
            '413': errorAnswer('PAYLOAD_TOO_LARGE'),
            '415': errorAnswer('UNSUPPORTED_MEDIA_TYPE'),
            ...v1Errors,
          },
        },
        get: {
          tags: ['workloads'],
          summary: 'Recent workloads, newest first',
          operationId: 'listWorkloads',
          parameters: queryParameters(listQuery),
          responses: {
            '200': json(ref('WorkloadList'), 'the workloads'),
            '400': errorAnswer('VALIDATION_FAILED'),
            ...v1Errors,
          },
        },
      },
      '/v1/workloads/{id}': {
        get: {
          tags: ['workloads'],
          summary: 'Status and counters',
          operationId: 'getWorkload',
          parameters: [idParameter],
          responses: { '200': json(ref('Workload'), 'the workload'), '404': errorAnswer('NOT_FOUND: never seen, or expired'), '410': lostAnswer, ...v1Errors },
        },
        delete: {
          tags: ['workloads'],
          summary: 'Cancel: queued chunks are removed, running ones aborted',
          operationId: 'cancelWorkload',
          parameters: [idParameter],
          responses: {
            '200': json(ref('Workload'), 'cancelled (again)'),
            '404': errorAnswer('NOT_FOUND: never seen, or expired'),
            '409': errorAnswer('ALREADY_FINISHED'),
            '410': lostAnswer,
            ...v1Errors,
          },
        },
      },
      '/v1/workloads/{id}/results': {
        get: {
          tags: ['workloads'],
          summary:
            'Results per item, in input order; `offset`/`limit` answer a page (`total` tells the item count); `wait` long-polls for the ' +
            'workload to finish (a workload whose state vanishes meanwhile ends the wait within seconds, with 410). With `Accept: ' +
            'application/x-ndjson`, a stream of any size instead of one body',
          operationId: 'getResults',
          parameters: [idParameter, ...queryParameters(resultsQuery)],
          responses: {
            '200': {
              description:
                'the results so far. As `application/x-ndjson` (asked for with `Accept`): one JSON text per line, the first `{id, status, ' +
                'total, completed, failed}`, then one line per item of [offset, offset + limit) clipped to total, in index order: `{index, ' +
                'value}` (value null when the item has no outcome yet) or `{index, value: null, error}`. When the stream cannot go on (the ' +
                'workload vanished, Redis failed) its last line is the error envelope; a stream with fewer item lines and no error line broke ' +
                'off',
              content: {
                'application/json': { schema: ref('WorkloadResults') },
                'application/x-ndjson': { schema: ref('ResultsLine') },
              },
            },
            '400': errorAnswer('VALIDATION_FAILED'),
            '404': errorAnswer('NOT_FOUND: never seen, or expired'),
            '410': lostAnswer,
            ...v1Errors,
          },
        },
      },
      '/v1/workloads/{id}/events': {
        get: {
          tags: ['workloads'],
          summary:
            'Server-Sent Events: `progress` {status, completed, failed, total}; `result` {index, value[, error]} in completion order; `done`; ' +
            "`error` (the error envelope) when the workload's state vanishes",
          operationId: 'streamEvents',
          parameters: [idParameter],
          responses: {
            '200': {
              description:
                "an event stream (each event's data: `x-event-data`), ending after `done`, or after an `error` event whose data is the error " +
                "envelope (WORKLOAD_LOST; NOT_FOUND if it may have expired) when the workload's record vanishes while the stream is open " +
                '(checked every few seconds)',
              content: { 'text/event-stream': { schema: { type: 'string' } } },
              // Each event's `data` (one JSON text) by the event's name: the schemas of src/contract/events.ts.
              'x-event-data': Object.fromEntries(Object.entries(EVENT_SCHEMA_NAMES).map(([event, name]) => [event, ref(name)])),
            },
            '404': errorAnswer('NOT_FOUND: never seen, or expired'),
            '410': lostAnswer,
            ...v1Errors,
          },
        },
      },
      '/v1/arrays/{name}': {
        put: {
          tags: ['arrays'],
          summary: 'Store (or replace) a named array: raw little-endian Float64 bytes, stored as bytes with a TTL',
          operationId: 'putArray',
          parameters: [arrayNameParameter, ...queryParameters(arrayPutQuery)],
          requestBody: { required: true, content: octetStream },
          responses: {
            '200': json(ref('StoredArray'), 'stored'),
            '400': errorAnswer('VALIDATION_FAILED: empty, not a multiple of 8 bytes, bad name or ttl'),
            '413': errorAnswer('PAYLOAD_TOO_LARGE: over MAX_ARRAY_BYTES'),
            '415': errorAnswer('UNSUPPORTED_MEDIA_TYPE: not application/octet-stream'),
            ...v1Errors,
          },
        },
        get: {
          tags: ['arrays'],
          summary: "The array's bytes (raw little-endian Float64)",
          operationId: 'getArray',
          parameters: [arrayNameParameter],
          responses: {
            '200': { description: 'the bytes; X-Array-Length holds the element count', content: octetStream },
            '400': errorAnswer('VALIDATION_FAILED'),
            '404': errorAnswer('NOT_FOUND'),
            ...v1Errors,
          },
        },
        delete: {
          tags: ['arrays'],
          summary: 'Delete a named array',
          operationId: 'deleteArray',
          parameters: [arrayNameParameter],
          responses: { '204': { description: 'deleted' }, '400': errorAnswer('VALIDATION_FAILED'), '404': errorAnswer('NOT_FOUND'), ...v1Errors },
        },
      },
      '/v1/tasks': {
        get: {
          tags: ['tasks'],
          summary: 'The registered compute tasks',
          operationId: 'listTasks',
          responses: { '200': json(ref('TaskList'), 'the tasks'), ...v1Errors },
        },
      },
      '/v1/workers': {
        get: {
          tags: ['workers'],
          summary: 'The live worker hosts and what they run',
          operationId: 'listWorkers',
          responses: { '200': json(ref('WorkerList'), 'hosts whose last heartbeat is recent, by id'), ...v1Errors },
        },
      },
    },
    security: [{ bearerAuth: [] }],
    components: {
      securitySchemes: {
        bearerAuth: {
          type: 'http',
          scheme: 'bearer',
          description:
            "a token of API_TOKENS or ADMIN_TOKENS (when set): it names the tenant the request acts for; another tenant's workloads and arrays " +
            'answer 404 as if they did not exist',
        },
      },
      schemas: {
        ...contractJsonSchemas({ maxItems: options.maxItemsPerWorkload, ref: (name) => `#/components/schemas/${name}` }),
        ...taskInputs,
      },
    },
  };
}
