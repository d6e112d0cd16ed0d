/**
 * `chunkmill/worker`: a worker host, for those who embed it. `runWorker()` is `npm run worker`: in the
 * cluster primary it supervises the worker processes and does the host's housekeeping; in each forked
 * child it runs BullMQ workers and a thread pool (worker-process.ts). Call it at the top of the script
 * the process runs, since the children are forks of that script.
 */
import cluster from 'node:cluster';
import os from 'node:os';
import { Registry } from 'prom-client';
import type { Config } from '../core/config';
import { ChunkFeeder } from '../core/chunk-feeder';
import { Keys, QUEUE_KINDS, type QueueKind } from '../core/keys';
import { REDIS_NOISE, type Logger } from '../core/logger';
import { closeQueues, openQueues } from '../core/queues';
import { closeRedis, createRedis, withRedisDeadline } from '../core/redis-connection';
import { runMain, type Shutdown } from '../core/run-main';
import { ReplicaWait } from '../core/replica-wait';
import { RedisAvailability } from '../core/redis-availability';
import { timeLimit } from '../core/time-limit';
import { loadTasks } from '../core/tasks/task-registry';
import { WorkloadStore } from '../core/workload-store';
import { processMetrics, workerHostMetrics, workerIdLabel } from '../core/metrics';
import { WorkerHeartbeat, WorkerRegistry } from '../core/worker-registry';
import { ClusterMetrics } from './cluster-metrics';
import { HostMetricsServer } from './host-metrics-server';
import { ClusterSupervisor } from './cluster-supervisor';
import { LostChunkReaper } from './lost-chunk-reaper';
import { WorkloadReconciler } from './workload-reconciler';
import { poolThreads, startWorkerProcess } from './worker-process';

export { loadConfig, type Config } from '../core/config';
export { ConfigError } from '../core/errors';
export { createLogger, type Logger } from '../core/logger';
export type { Shutdown } from '../core/run-main';
export { poolThreads, startWorkerProcess } from './worker-process';

/** How long the host's own Redis clean-up (registry entry, reapers) may wait for Redis when stopping. */
const CLEANUP_WAIT_MS = 2_000;

/**
 * Starts a worker host's primary in this process: its housekeeping (reconciler, reapers, registry
 * heartbeat, host metrics) and WORKER_PROCESSES forked worker processes. The forks run this process's
 * main script again (cluster.fork): there, `runWorker()` (or your own code) runs `startWorkerProcess`.
 */
export async function startWorkerHost(
  config: Config,
  logger: Logger,
  _stop?: (reason: string) => void,
  redisAvailability?: RedisAvailability,
): Promise<Shutdown> {
  // One it made itself (embedded without one) is closed with it.
  const redis = redisAvailability ?? new RedisAvailability(config.REDIS_URL, logger);
  // A task module it cannot use (CHUNKMILL_TASK_MODULES) stops the start with a ConfigError, before any fork.
  loadTasks();
  const keys = new Keys(config.CHUNKMILL_PREFIX);
  const connection = createRedis(config.REDIS_URL, 'worker', 'chunkmill-worker-host');
  connection.on('error', (error) => logger.warn({ err: error, ...REDIS_NOISE }, 'redis connection error'));
  redis.watch(connection);
  const store = new WorkloadStore(
    connection,
    keys,
    config.RESULT_TTL_SECONDS,
    new ReplicaWait({ replicas: config.REDIS_WAIT_REPLICAS, timeoutMs: config.REDIS_WAIT_TIMEOUT_MS }),
  );
  const queues = openQueues(connection, keys);
  const feeder = new ChunkFeeder(connection, keys, queues, { windowChunks: config.CHUNKS_IN_QUEUE_PER_WORKLOAD, ttlSeconds: config.RESULT_TTL_SECONDS });
  const reapers = config.WORKER_QUEUES.map((kind) => new LostChunkReaper(kind, connection, keys, store, logger, feeder));
  // Repairs what crashes and failovers left behind, so that every accepted workload ends (workload-reconciler.ts).
  const reconciler = new WorkloadReconciler(store, feeder, queues, logger, config);
  let reconciling = false;
  const reconcile = setInterval(() => {
    if (reconciling) return;
    reconciling = true;
    reconciler
      .look()
      .catch((error) => logger.warn({ err: error, ...REDIS_NOISE }, 'reconciler look failed; trying again later'))
      .finally(() => (reconciling = false));
  }, config.RECONCILE_INTERVAL_MS);
  const supervisor = new ClusterSupervisor({ processes: config.WORKER_PROCESSES, shutdownGraceMs: config.SHUTDOWN_GRACE_MS }, logger);
  const hostRegistry = new Registry();
  workerIdLabel(hostRegistry, config.WORKER_ID);
  processMetrics(hostRegistry);
  const { processExits } = workerHostMetrics(hostRegistry);
  cluster.on('exit', () => processExits.inc());
  const clusterMetrics = new ClusterMetrics(hostRegistry);
  // /readyz on the metrics port: Redis answers (a PING within a second: a frozen one does not), the host is
  // registered, and every worker process has its BullMQ workers connected.
  const notReadyReason = async (): Promise<string | undefined> => {
    const reason = redis.notReadyReason() ?? supervisor.notReadyReason();
    if (reason) return reason;
    const answered = await timeLimit(
      connection.ping().then(
        () => true,
        () => false,
      ),
      1_000,
      false,
    );
    return answered ? undefined : `Redis at ${redis.hosts} does not answer`;
  };
  const metricsServer = new HostMetricsServer(clusterMetrics, logger, notReadyReason);
  await metricsServer.listen(config.WORKER_METRICS_PORT, config.HOST);
  supervisor.start();
  const startedAt = Date.now();
  const heartbeat = new WorkerHeartbeat({
    registry: new WorkerRegistry(connection, keys, config.WORKER_HEARTBEAT_MS),
    logger,
    describe: async () => ({
      id: config.WORKER_ID,
      hostname: os.hostname(),
      pid: process.pid,
      queues: config.WORKER_QUEUES,
      processes: config.WORKER_PROCESSES,
      threads: poolThreads(config),
      concurrency: { compute: config.WORKER_CONCURRENCY, fetch: config.WORKER_FETCH_CONCURRENCY },
      activeChunks: await activeChunks(clusterMetrics),
      startedAt,
    }),
  });
  // Ready once a heartbeat has written the host's entry (not when the first one failed: Redis away, full or
  // read-only), and not ready again while failing beats let it expire.
  redis.require(() => (heartbeat.registered ? undefined : 'not registered in the worker registry (no successful heartbeat lately)'));
  await heartbeat.start();
  logger.info(
    { workerId: config.WORKER_ID, queues: config.WORKER_QUEUES, processes: config.WORKER_PROCESSES, threads: poolThreads(config) },
    'worker host started',
  );
  return async () => {
    if (!redisAvailability) redis.close();
    clearInterval(reconcile);
    // Listed while its children finish their chunks; off the list once they are done.
    await supervisor.stop();
    // The children's final counts are in: /metrics stays up for one more scrape meanwhile.
    const finalScrape = metricsServer.finalScrape(config.WORKER_METRICS_FINAL_SCRAPE_MS).then((scraped) => {
      if (scraped) logger.info('final metrics scraped');
      else if (config.WORKER_METRICS_FINAL_SCRAPE_MS > 0) logger.info('no final metrics scrape (never scraped, or none in time)');
    });
    // A Redis that does not answer (away, frozen) holds up the rest for CLEANUP_WAIT_MS at most.
    const finished = await withRedisDeadline([connection], CLEANUP_WAIT_MS, async () => {
      await heartbeat.stop();
      await Promise.all(reapers.map((reaper) => reaper.close()));
      await closeQueues(queues);
      await closeRedis(connection);
    });
    if (!finished) logger.warn('Redis did not answer in time: connection dropped, this host left to expire from the registry');
    await finalScrape;
    await metricsServer.close();
    clusterMetrics.close();
  };
}

/** The worker host as `npm run worker` runs it: the primary, or a forked worker process (see above). */
export function runWorker(): void {
  if (cluster.isPrimary) {
    runMain('worker-host', startWorkerHost);
  } else {
    runMain(
      'worker',
      // The primary relays Ctrl-C as SIGTERM (and run-main stops the child if the primary vanishes).
      async (config, logger, _stop, redis) => {
        loadTasks();
        return startWorkerProcess(config, logger, redis);
      },
      { signals: ['SIGTERM'], ignoredSignals: ['SIGINT'] },
    );
  }
}

/** Chunks running on this host now, per queue: the children's `chunkmill_active_chunks` gauges added up. */
async function activeChunks(metrics: ClusterMetrics): Promise<Record<QueueKind, number>> {
  const counts = Object.fromEntries(QUEUE_KINDS.map((kind) => [kind, 0])) as Record<QueueKind, number>;
  const gauge = (await metrics.aggregated()).getSingleMetric('chunkmill_active_chunks');
  for (const { labels, value } of (await gauge?.get())?.values ?? []) {
    const queue = labels.queue as QueueKind;
    if (queue in counts) counts[queue] += value;
  }
  return counts;
}
