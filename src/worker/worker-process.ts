/**
 * One worker process (a cluster child): BullMQ workers that pull chunk jobs, and the thread pool
 * that runs their CPU work.
 *
 * Shutdown: stop taking jobs and wait for the active ones; when the grace period ends first, the
 * running items are aborted and their chunks handed back to the queue. Then everything is closed in
 * reverse order of creation.
 */
import cluster from 'node:cluster';
import { setMaxListeners } from 'node:events';
import { Worker } from 'bullmq';
import type { Logger } from 'pino';
import { REDIS_NOISE } from '../core/logger';
import type { Config } from '../core/config';
import { ArrayStore } from '../core/array-store';
import { ChunkFeeder } from '../core/chunk-feeder';
import { Keys } from '../core/keys';
import { closeQueues, openQueues } from '../core/queues';
import { ResultCache } from '../core/result-cache';
import { closeRedis, createRedis, withRedisDeadline } from '../core/redis-connection';
import { RedisSubscriber } from '../core/redis-subscriber';
import type { RedisAvailability } from '../core/redis-availability';
import type { Shutdown } from '../core/run-main';
import { ReplicaWait } from '../core/replica-wait';
import { WorkloadStore } from '../core/workload-store';
import type { ChunkJobData, ComputeChunkData, FetchChunkData } from '../core/workload';
import { AddressGuard } from './address-guard';
import { ArrayItemRunners } from './array-item-runner';
import { CancellationRegistry } from './cancellation-registry';
import { WORKER_READY_MESSAGE } from './cluster-supervisor';
import { createComputeProcessor } from './compute-chunk-processor';
import { createFetchProcessor } from './fetch-chunk-processor';
import { CompletionFeeding } from './completion-feeding';
import { HttpFetcher } from './http-fetcher';
import { InfrastructureGuard } from './infrastructure-guard';
import { ThreadPool } from './thread-pool';
import { WorkerMetrics } from './worker-metrics';
import { RecordingOrder } from './recording-order';
import { WorkloadSessions } from './workload-session';
import { WorkloadSlots } from './workload-slots';

/** After the grace period, how long the stopped chunks get to be handed back to the queue. */
const HAND_BACK_MS = 2_000;

export class ShutdownTimeoutError extends Error {
  constructor() {
    super('The worker is shutting down and its grace period is over');
    this.name = 'ShutdownTimeoutError';
  }
}

/**
 * Compute threads per worker process: WORKER_THREADS, or one idle thread on a fetch-only host (the
 * pool and its metrics exist either way; a thread per core would sit idle).
 */
export function poolThreads(config: Config): number {
  return config.WORKER_QUEUES.includes('compute') ? config.WORKER_THREADS : 1;
}

export async function startWorkerProcess(config: Config, logger: Logger, redisAvailability?: RedisAvailability): Promise<Shutdown> {
  const keys = new Keys(config.CHUNKMILL_PREFIX);
  const connection = createRedis(config.REDIS_URL, 'worker');
  connection.on('error', (error) => logger.warn({ err: error, ...REDIS_NOISE }, 'redis connection error'));
  const subscriber = new RedisSubscriber(createRedis(config.REDIS_URL, 'subscriber'));
  subscriber.connection.on('error', (error) => logger.warn({ err: error, ...REDIS_NOISE }, 'redis subscriber connection error'));
  redisAvailability?.watch(connection, subscriber.connection);
  const store = new WorkloadStore(
    connection,
    keys,
    config.RESULT_TTL_SECONDS,
    new ReplicaWait({ replicas: config.REDIS_WAIT_REPLICAS, timeoutMs: config.REDIS_WAIT_TIMEOUT_MS }),
  );
  const recordingOrder = new RecordingOrder(store, logger);
  // WORKER_QUEUES: a host started for one kind of work takes no chunks of the other.
  const runs = new Set(config.WORKER_QUEUES);
  const pool = new ThreadPool({ threads: poolThreads(config), maxOldGenerationMb: config.THREAD_MAX_OLD_GENERATION_MB });
  const metrics = new WorkerMetrics(pool, config.WORKER_ID, logger);
  // Array slices (megabytes each) go over their own connection, so that they never hold up a lock renewal.
  const arrayConnection = createRedis(config.REDIS_URL, 'worker', 'chunkmill-arrays');
  arrayConnection.on('error', (error) => logger.warn({ err: error, ...REDIS_NOISE }, 'redis connection error'));
  redisAvailability?.watch(arrayConnection);
  const arrays = new ArrayItemRunners(pool, new ArrayStore(arrayConnection, keys));
  // Fetch chunks run on this event loop, not on the threads: a compute chunk and a fetch chunk in the
  // same process do not compete, the threads do the CPU work and the loop only waits for sockets.
  const fetcher = new HttpFetcher({
    guard: new AddressGuard({ allowPrivate: config.FETCH_ALLOW_PRIVATE }),
    onExchange: (status, durationMs) => metrics.fetchRequestDone(status, durationMs),
  });
  const slots = new WorkloadSlots(connection, subscriber, keys);
  await slots.start();
  const cancellations = new CancellationRegistry(subscriber, keys.cancelChannel);
  const sessions = new WorkloadSessions({ cancellations, agents: fetcher.agents, slots });
  await cancellations.start((reason) => sessions.cancel(reason));
  const shutdown = new AbortController();
  const queues = openQueues(connection, keys);
  const feeder = new ChunkFeeder(connection, keys, queues, { windowChunks: config.CHUNKS_IN_QUEUE_PER_WORKLOAD, ttlSeconds: config.RESULT_TTL_SECONDS });
  const feeding = new CompletionFeeding(feeder, logger);
  // Every running chunk listens to it (chunk-run.ts links it to the chunk's own signal).
  setMaxListeners(0, shutdown.signal);

  // A chunk that Redis fails (full, frozen, failing over) goes back to the queue without using an attempt.
  const guard = new InfrastructureGuard(logger, { handBackForMs: config.LOCK_DURATION_MS, shutdownSignal: shutdown.signal });

  const workerOptions = (concurrency: number) => ({
    connection,
    prefix: keys.bullPrefix,
    concurrency,
    lockDuration: config.LOCK_DURATION_MS,
    stalledInterval: config.STALLED_INTERVAL_MS,
    maxStalledCount: config.MAX_STALLED_COUNT,
  });
  const computeWorker =
    runs.has('compute') &&
    new Worker<ComputeChunkData>(
      keys.queueName('compute'),
      metrics.instrument(
        'compute',
        guard.wrap(
          createComputeProcessor({
            store,
            recordingOrder,
            pool,
            sessions,
            shutdownSignal: shutdown.signal,
            logger,
            onItemDone: metrics.computeItemDone,
            cache: new ResultCache(connection, keys, config.CACHE_TTL_SECONDS),
            onCacheLookup: metrics.cacheLookup,
            arrays,
          }),
        ),
      ),
      workerOptions(config.WORKER_CONCURRENCY),
    );

  const fetchWorker =
    runs.has('fetch') &&
    new Worker<FetchChunkData>(
      keys.queueName('fetch'),
      metrics.instrument(
        'fetch',
        guard.wrap(
          createFetchProcessor({
            store,
            recordingOrder,
            sessions,
            shutdownSignal: shutdown.signal,
            fetcher,
            onItemDone: (item) => metrics.itemDone('fetch', item),
          }),
        ),
      ),
      workerOptions(config.WORKER_FETCH_CONCURRENCY),
    );

  const workers = [
    ['compute', computeWorker],
    ['fetch', fetchWorker],
  ].filter((entry): entry is ['compute' | 'fetch', Worker] => entry[1] !== false);
  for (const [kind, worker] of workers) {
    feeding.attach(worker as Worker<ChunkJobData>);
    worker.on('error', (error) => logger.warn({ err: error, ...REDIS_NOISE }, `${kind} worker error`));
    worker.on('failed', (job, error) =>
      logger.info({ queue: kind, jobId: job?.id, attemptsMade: job?.attemptsMade, err: error.message }, 'chunk attempt failed'),
    );
    worker.on('stalled', (jobId) => logger.warn({ queue: kind, jobId }, 'chunk stalled'));
  }
  // Ready only once every worker's blocking connection is: a BullMQ worker closed while that connection
  // is still initializing emits an error nobody listens to any more, and the process dies on it
  // (taskforcesh/bullmq#2686: a SIGTERM right after start).
  await Promise.all(workers.map(([, worker]) => worker.waitUntilReady()));
  logger.info(
    { queues: config.WORKER_QUEUES, threads: pool.threads, concurrency: config.WORKER_CONCURRENCY, fetchConcurrency: config.WORKER_FETCH_CONCURRENCY },
    'worker process ready',
  );
  // Its host's /readyz counts it (only in a cluster child: an in-process run has no primary to tell).
  if (cluster.isWorker) process.send?.({ type: WORKER_READY_MESSAGE });

  // Past the grace period and a moment to hand the stopped chunks back, a Redis that does not answer
  // (away, frozen) no longer holds the process up: its connections are dropped.
  const connections = [connection, arrayConnection, subscriber.connection];
  const stop = async (): Promise<void> => {
    const finished = await withRedisDeadline(connections, config.SHUTDOWN_GRACE_MS + HAND_BACK_MS, async () => {
      const grace = setTimeout(() => shutdown.abort(new ShutdownTimeoutError()), config.SHUTDOWN_GRACE_MS);
      try {
        await Promise.all(workers.map(([, worker]) => worker.close()));
      } finally {
        clearTimeout(grace);
      }
      await feeding.close();
      await slots.close();
      await fetcher.close();
      cancellations.close();
      await pool.close();
      await closeQueues(queues);
      await subscriber.close();
      await closeRedis(arrayConnection);
      await closeRedis(connection);
    });
    if (!finished) logger.warn('Redis did not answer in time: connections dropped, running chunks left to the stall check');
  };
  return async () => {
    try {
      await stop();
    } finally {
      // Last: what the chunks counted while stopping (hand-backs too) reaches the primary before the exit.
      await metrics.close();
    }
  };
}
