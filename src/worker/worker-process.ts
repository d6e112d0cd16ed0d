/**
 * One worker process (a cluster child): BullMQ workers that pull chunk jobs, and the thread pool
 * that runs their CPU work.
 *
 * Shutdown: stop taking jobs and wait for the active ones; when the grace period ends first, the
 * running items are aborted and their chunks handed back to the queue. Then everything is closed in
 * reverse order of creation.
 */
import { Worker } from 'bullmq';
import type { Logger } from 'pino';
import type { Config } from '../core/config';
import { Keys } from '../core/keys';
import { closeRedis, createRedis } from '../core/redis-connection';
import { RedisSubscriber } from '../core/redis-subscriber';
import type { Shutdown } from '../core/run-main';
import { WorkloadStore } from '../core/workload-store';
import type { ComputeChunkData } from '../core/workload';
import { CancellationRegistry } from './cancellation-registry';
import { createComputeProcessor } from './compute-chunk-processor';
import { ThreadPool } from './thread-pool';

export class ShutdownTimeoutError extends Error {
  constructor() {
    super('The worker is shutting down and its grace period is over');
    this.name = 'ShutdownTimeoutError';
  }
}

export async function startWorkerProcess(config: Config, logger: Logger): Promise<Shutdown> {
  const keys = new Keys(config.CHUNKMILL_PREFIX);
  const connection = createRedis(config.REDIS_URL, 'worker');
  connection.on('error', (error) => logger.warn({ err: error }, 'redis connection error'));
  const subscriber = new RedisSubscriber(createRedis(config.REDIS_URL, 'subscriber'));
  const store = new WorkloadStore(connection, keys, config.RESULT_TTL_SECONDS);
  const pool = new ThreadPool({ threads: config.WORKER_THREADS, maxOldGenerationMb: config.THREAD_MAX_OLD_GENERATION_MB });
  const cancellations = new CancellationRegistry(subscriber, keys.cancelChannel);
  await cancellations.start();
  const shutdown = new AbortController();

  const computeWorker = new Worker<ComputeChunkData>(
    keys.queueName('compute'),
    createComputeProcessor({ store, pool, cancellations, shutdownSignal: shutdown.signal, logger }),
    {
      connection,
      prefix: keys.bullPrefix,
      concurrency: config.WORKER_CONCURRENCY,
      lockDuration: config.LOCK_DURATION_MS,
      stalledInterval: config.STALLED_INTERVAL_MS,
      maxStalledCount: config.MAX_STALLED_COUNT,
    },
  );
  computeWorker.on('error', (error) => logger.warn({ err: error }, 'compute worker error'));
  computeWorker.on('failed', (job, error) =>
    logger.info({ jobId: job?.id, attemptsMade: job?.attemptsMade, err: error.message }, 'chunk attempt failed'),
  );
  computeWorker.on('stalled', (jobId) => logger.warn({ jobId }, 'chunk stalled'));
  logger.info({ threads: pool.threads, concurrency: config.WORKER_CONCURRENCY }, 'worker process ready');

  return async () => {
    const grace = setTimeout(() => shutdown.abort(new ShutdownTimeoutError()), config.SHUTDOWN_GRACE_MS);
    try {
      await computeWorker.close();
    } finally {
      clearTimeout(grace);
    }
    cancellations.close();
    await pool.close();
    await subscriber.close();
    await closeRedis(connection);
  };
}
