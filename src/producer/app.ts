/** The producer's Express app: health, `/metrics`, the authenticated `/v1` API, and one error handler. */
import express, { type Express } from 'express';
import type { RedisClient } from '../core/redis-connection';
import type { Logger } from 'pino';
import type { Config } from '../core/config';
import { errorEnvelope, RedisUnavailableError } from '../core/errors';
import { timeLimit } from '../core/time-limit';
import { probeWrites } from '../core/redis-write-probe';
import type { ArrayStore } from '../core/array-store';
import { apiDocsRoutes } from './api-docs';
import { arrayRoutes } from './array-routes';
import { bearerAuth } from './auth';
import { HttpMetrics } from './http-metrics';
import { tenantRateLimit } from './rate-limit';
import { errorHandler, notFoundHandler } from '../core/error-handler';
import { buildOpenApiDocument } from './openapi';
import { workloadRoutes, type RouteDeps } from './workload-routes';
import { workerRoutes } from './worker-routes';
import type { WorkerRegistry } from '../core/worker-registry';

export interface ProducerAppDeps extends RouteDeps {
  config: Config;
  redis: RedisClient;
  logger: Logger;
  arrays: ArrayStore;
  workers: WorkerRegistry;
  /** Resolves once Redis answered and the queues are initialised: /v1 requests wait for it (REDIS_COMMAND_TIMEOUT_MS at most, then 503). */
  started?: Promise<void>;
  /** Why the producer cannot serve now (starting, Redis away), or undefined: /readyz says it. */
  notReadyReason?: () => string | undefined;
}

export function createProducerApp(deps: ProducerAppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  const metrics = new HttpMetrics({ tokens: deps.config.TOKENS, metricsToken: deps.config.METRICS_TOKEN });
  app.use(metrics.track);

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  // Ready means connected, started and Redis takes writes (redis-write-probe.ts): waiting for Redis at start-up,
  // or a full, read-only or stalled Redis, is a 503 with the reason. Answered here, not logged: it is polled.
  app.get('/readyz', async (_req, res) => {
    const waiting = deps.notReadyReason?.();
    const probe = waiting ? { writable: false as const, reason: waiting } : await probeWrites(deps.redis, deps.keys, deps.config.REDIS_COMMAND_TIMEOUT_MS);
    if (probe.writable) return void res.json({ status: 'ready' });
    answer503(res, new RedisUnavailableError(waiting ? 'Not ready: waiting for Redis.' : 'Redis cannot take writes now.', [{ reason: probe.reason }]));
  });

  app.get('/metrics', metrics.requireReader, metrics.serve);

  app.use(apiDocsRoutes(buildOpenApiDocument({ maxItemsPerWorkload: deps.config.MAX_ITEMS_PER_WORKLOAD })));

  // Not strict: a body of `null`, `3` or `"text"` is valid JSON, and validation says what it is instead.
  const jsonBody = express.json({ limit: deps.config.MAX_BODY_BYTES, strict: false, type: () => true });
  app.use(
    '/v1',
    metrics.mounted,
    startedGate(deps.started, deps.config.REDIS_COMMAND_TIMEOUT_MS),
    bearerAuth(deps.config.TOKENS),
    tenantRateLimit(deps.redis, deps.keys, deps.config.RATE_LIMIT_PER_MINUTE),
    arrayRoutes({ arrays: deps.arrays, maxArrayBytes: deps.config.MAX_ARRAY_BYTES, defaultTtlSeconds: deps.config.RESULT_TTL_SECONDS }),
    workloadRoutes(deps, jsonBody),
    workerRoutes(deps.workers),
  );
  app.use(notFoundHandler);
  app.use(errorHandler(deps.logger));
  return app;
}

/**
 * Until start-up is done (Redis answered, queues initialised), a request waits for it, for `waitMs` at
 * most, and is then refused with a 503: the listener opens at once, before Redis is there.
 */
function startedGate(started: Promise<void> | undefined, waitMs: number): express.RequestHandler {
  let done = started === undefined;
  started?.then(
    () => (done = true),
    () => undefined,
  );
  return (_req, res, next) => {
    if (done) return next();
    timeLimit(
      started!.then(() => true),
      waitMs,
      false,
    ).then((ready) => {
      if (ready) return next();
      answer503(res, new RedisUnavailableError('chunkmill is starting and waiting for Redis; nothing was enqueued. Try again shortly.'));
    }, next);
  };
}

/** A 503 answered at once, without a log line (the outage is logged once, by redis-availability.ts). */
function answer503(res: express.Response, error: RedisUnavailableError): void {
  res.status(503).set('Retry-After', String(error.retryAfterSeconds)).json(errorEnvelope(error));
}
