/** Wires the producer together: connections, queues, store, service and the Express app. */
import type { Express } from 'express';
import type { Logger } from 'pino';
import { REDIS_NOISE } from '../core/logger';
import type { Config } from '../core/config';
import { ArrayStore } from '../core/array-store';
import { ChunkFeeder } from '../core/chunk-feeder';
import { Keys } from '../core/keys';
import { closeQueues, initialiseQueues, openQueues, type ChunkQueues } from '../core/queues';
import { RedisAvailability } from '../core/redis-availability';
import { closeRedis, createRedis } from '../core/redis-connection';
import { RedisSubscriber } from '../core/redis-subscriber';
import { ReplicaWait } from '../core/replica-wait';
import { timeLimit } from '../core/time-limit';
import { WorkloadStore } from '../core/workload-store';
import { WorkerRegistry } from '../core/worker-registry';
import { createProducerApp } from './app';
import { FinishedWorkloads } from './finished-workloads';
import { IdempotencyKeys } from './idempotency';
import { MissingWorkloads } from './missing-workloads';
import { WorkloadPresence } from './workload-presence';
import { WorkloadService } from './workload-service';

export interface Producer {
  app: Express;
  queues: ChunkQueues;
  store: WorkloadStore;
  /** Resolves once Redis answered and the queues are initialised (requests to /v1 wait for it, briefly). */
  started: Promise<void>;
  /** Closes what `createProducer` opened, in reverse order. Idempotent. */
  close(): Promise<void>;
}

/** How long start-up waits for Redis before serving anyway (answering 503 until Redis is there). */
const REDIS_WAIT_AT_START_MS = 5_000;
/** The slowest transfer rate to Redis an array PUT or GET is given time for (a slow VM managed ~120 MB/s). */
const ARRAY_TRANSFER_FLOOR_BYTES_PER_SECOND = 32 * 1024 * 1024;

/** REDIS_COMMAND_TIMEOUT_MS, plus the time to move the largest array at the floor rate. */
export function arrayCommandTimeoutMs(config: Pick<Config, 'REDIS_COMMAND_TIMEOUT_MS' | 'MAX_ARRAY_BYTES'>): number {
  return config.REDIS_COMMAND_TIMEOUT_MS + Math.ceil((config.MAX_ARRAY_BYTES / ARRAY_TRANSFER_FLOOR_BYTES_PER_SECOND) * 1000);
}

/** The producer, waiting up to REDIS_WAIT_AT_START_MS for Redis (then serving anyway, 503 until Redis is there). */
export async function createProducer(config: Config, logger: Logger, redisAvailability?: RedisAvailability): Promise<Producer> {
  const producer = openProducer(config, logger, redisAvailability);
  await timeLimit(producer.started, REDIS_WAIT_AT_START_MS, undefined);
  return producer;
}

/**
 * The producer, at once: its app answers /healthz straight away and /readyz 503 (with the reason) until
 * Redis answers and the queues are initialised; `started` resolves then.
 */
export function openProducer(config: Config, logger: Logger, redisAvailability = new RedisAvailability(config.REDIS_URL, logger)): Producer {
  const keys = new Keys(config.CHUNKMILL_PREFIX);
  const deadline = { commandTimeoutMs: config.REDIS_COMMAND_TIMEOUT_MS };
  const redis = createRedis(config.REDIS_URL, 'producer', undefined, deadline);
  redis.on('error', (error) => logger.warn({ err: error, ...REDIS_NOISE }, 'redis connection error'));
  const subscriber = new RedisSubscriber(createRedis(config.REDIS_URL, 'subscriber'));
  subscriber.connection.on('error', (error) => logger.warn({ err: error, ...REDIS_NOISE }, 'redis subscriber connection error'));
  const queues = openQueues(redis, keys);
  for (const queue of Object.values(queues)) queue.on('error', (error) => logger.warn({ err: error, ...REDIS_NOISE }, 'queue error'));
  const store = new WorkloadStore(
    redis,
    keys,
    config.RESULT_TTL_SECONDS,
    new ReplicaWait({ replicas: config.REDIS_WAIT_REPLICAS, timeoutMs: config.REDIS_WAIT_TIMEOUT_MS }),
  );
  const feeder = new ChunkFeeder(redis, keys, queues, { windowChunks: config.CHUNKS_IN_QUEUE_PER_WORKLOAD, ttlSeconds: config.RESULT_TTL_SECONDS });
  const finished = new FinishedWorkloads(subscriber, keys.finishedChannel);
  // Whole arrays (up to MAX_ARRAY_BYTES in one SET or GET) go over their own connection, whose deadline
  // also counts the transfer, so that the others keep their short one.
  const arrayRedis = createRedis(config.REDIS_URL, 'producer', 'chunkmill-producer-arrays', { commandTimeoutMs: arrayCommandTimeoutMs(config) });
  arrayRedis.on('error', (error) => logger.warn({ err: error, ...REDIS_NOISE }, 'redis connection error'));
  const arrays = new ArrayStore(arrayRedis, keys);
  const presence = new WorkloadPresence(store);
  const service = new WorkloadService(config, store, queues, finished, logger, feeder, arrays, presence, new MissingWorkloads(store));
  const idempotency = new IdempotencyKeys(redis, keys);
  redisAvailability.watch(redis, arrayRedis, subscriber.connection);
  // Fail-fast connections refuse commands until connected, and BullMQ writes each queue's meta hash once
  // its connection is initialised: requests wait for both (app.ts), so that a refused request never sees
  // keys appear that it did not write.
  // An initialisation that fails (Redis gone again before it finished) is tried again until the producer closes.
  let queuesReady = false;
  const stopping = new AbortController();
  const connected = [redis, arrayRedis, subscriber.connection].map((connection) =>
    connection.status === 'ready' ? Promise.resolve() : new Promise<void>((resolve) => connection.once('ready', () => resolve())),
  );
  const started = Promise.all(connected)
    .then(() =>
      initialiseQueues(Object.values(queues), {
        signal: stopping.signal,
        onRetry: (error, retryInMs) => logger.warn({ err: error, retryInMs, ...REDIS_NOISE }, 'the queues could not be initialised; trying again'),
      }),
    )
    .then(() => {
      queuesReady = true;
    });
  started.catch(() => undefined);
  redisAvailability.require(() => (queuesReady ? undefined : 'the queues are not initialised yet'));
  const workers = new WorkerRegistry(redis, keys, config.WORKER_HEARTBEAT_MS);
  const app = createProducerApp({
    config,
    redis,
    logger,
    service,
    store,
    subscriber,
    keys,
    idempotency,
    arrays,
    workers,
    presence,
    subscribeTimeoutMs: config.REDIS_COMMAND_TIMEOUT_MS,
    started,
    notReadyReason: () => redisAvailability.notReadyReason(),
  });

  let closing: Promise<void> | undefined;
  return {
    app,
    queues,
    store,
    started,
    close: () =>
      (closing ??= (async () => {
        stopping.abort();
        redisAvailability.close();
        await closeQueues(queues);
        presence.close();
        finished.close();
        await subscriber.close();
        await closeRedis(arrayRedis);
        await closeRedis(redis);
      })()),
  };
}
