/** The producer's Express app: health, `/metrics`, the authenticated `/v1` API, and one error handler. */
import express, { type Express } from 'express';
import type { RedisClient } from '../core/redis-connection';
import type { Logger } from 'pino';
import type { Config } from '../core/config';
import { RedisUnavailableError } from '../core/errors';
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
  // Ready means Redis takes writes (redis-write-probe.ts): a full, read-only or stalled Redis is a 503 with the reason.
  app.get('/readyz', async (_req, res) => {
    const probe = await probeWrites(deps.redis, deps.keys, deps.config.REDIS_COMMAND_TIMEOUT_MS);
    if (!probe.writable) throw new RedisUnavailableError('Redis cannot take writes now.', [{ reason: probe.reason }]);
    res.json({ status: 'ready' });
  });

  app.get('/metrics', metrics.requireReader, metrics.serve);

  app.use(apiDocsRoutes(buildOpenApiDocument({ maxItemsPerWorkload: deps.config.MAX_ITEMS_PER_WORKLOAD })));

  // Not strict: a body of `null`, `3` or `"text"` is valid JSON, and validation says what it is instead.
  const jsonBody = express.json({ limit: deps.config.MAX_BODY_BYTES, strict: false, type: () => true });
  app.use(
    '/v1',
    metrics.mounted,
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
