/**
 * `chunkmill/dashboard`: the dashboard, for those who embed it. `runDashboard()` is `npm run dashboard`
 * (the live page, the queue-level Prometheus metrics and bull-board, see dashboard-app.ts, on
 * DASHBOARD_PORT); `startDashboard(config, logger)` starts it in a process you run yourself.
 */
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import type { Config } from '../core/config';
import { Keys } from '../core/keys';
import { dashboardMetrics, processMetrics } from '../core/metrics';
import { closeQueues, initialiseQueues, openQueues } from '../core/queues';
import { closeRedis, createRedis } from '../core/redis-connection';
import { listenOn } from '../core/http-listen';
import { REDIS_NOISE, type Logger } from '../core/logger';
import { RedisAvailability } from '../core/redis-availability';
import { runMain, type Shutdown } from '../core/run-main';
import { WorkloadStore } from '../core/workload-store';
import { TokenTable } from '../core/token-table';
import { createDashboardApp } from './dashboard-app';
import { dashboardAuth } from './dashboard-auth';
import { DashboardSessions } from './dashboard-sessions';
import { LiveFeed } from './live-feed';
import { QueueOverview } from './queue-overview';

export { loadConfig, type Config } from '../core/config';
export { ConfigError } from '../core/errors';
export { createLogger, type Logger } from '../core/logger';
export type { Shutdown } from '../core/run-main';
export { createDashboardApp, type DashboardAppDeps } from './dashboard-app';

/** Starts the dashboard on `config.DASHBOARD_PORT` and `config.HOST`; answers the function that stops it. */
export async function startDashboard(
  config: Config,
  logger: Logger,
  _stop?: (reason: string) => void,
  redisAvailability?: RedisAvailability,
): Promise<Shutdown> {
  // One it made itself (embedded without one) is closed with it.
  const availability = redisAvailability ?? new RedisAvailability(config.REDIS_URL, logger);
  const keys = new Keys(config.CHUNKMILL_PREFIX);
  const redis = createRedis(config.REDIS_URL, 'producer', 'chunkmill-dashboard', { commandTimeoutMs: config.REDIS_COMMAND_TIMEOUT_MS });
  redis.on('error', (error) => logger.warn({ err: error, ...REDIS_NOISE }, 'redis connection error'));
  availability.watch(redis);
  const queues = openQueues(redis, keys);
  // An initialisation that fails (Redis gone again before it finished) is tried again until the dashboard stops.
  let queuesReady = false;
  const stopping = new AbortController();
  initialiseQueues(Object.values(queues), {
    signal: stopping.signal,
    onRetry: (error, retryInMs) => logger.warn({ err: error, retryInMs, ...REDIS_NOISE }, 'the queues could not be initialised; trying again'),
  }).then(
    () => {
      queuesReady = true;
      logger.info('dashboard ready');
    },
    () => undefined,
  );
  availability.require(() => (queuesReady ? undefined : 'the queues are not initialised yet'));
  // Ready: connected, the queues initialised, and Redis answers a PING now (a frozen one does not, within its command deadline).
  const notReadyReason = async (): Promise<string | undefined> =>
    availability.notReadyReason() ??
    redis.ping().then(
      () => undefined,
      (error: Error) => `Redis does not answer: ${error.message}`,
    );
  const store = new WorkloadStore(redis, keys, config.RESULT_TTL_SECONDS);
  const overview = new QueueOverview(queues, store);

  const registry = new Registry();
  processMetrics(registry);
  dashboardMetrics(registry, overview);
  const feed = new LiveFeed(overview, logger);
  // Sampling starts once Redis answers (this connection does not queue commands while offline).
  if (redis.status === 'ready') feed.start();
  else redis.once('ready', () => feed.start());

  const sessions = new DashboardSessions(redis, keys, config.DASHBOARD_SESSION_TTL_SECONDS);
  const auth = dashboardAuth({ tokens: new TokenTable(config.TOKENS), sessions, metricsToken: config.METRICS_TOKEN, queueAdmin: config.DASHBOARD_QUEUE_ADMIN });
  const app = createDashboardApp({ registry, queues, feed, auth, logger, notReadyReason });
  const server = await listenOn(app, config.DASHBOARD_PORT, config.HOST, 'DASHBOARD_PORT');
  logger.info({ port: (server.address() as AddressInfo).port }, 'dashboard listening');
  return async () => {
    stopping.abort();
    if (!redisAvailability) availability.close();
    feed.close();
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
    await closeQueues(queues);
    await closeRedis(redis);
  };
}

/** The dashboard as `npm run dashboard` runs it: a bad setting exits with code 2, SIGTERM/SIGINT stop it. */
export function runDashboard(): void {
  runMain('dashboard', startDashboard);
}
