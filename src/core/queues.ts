/** The BullMQ queues chunkmill uses, opened the same way by every role that needs them. */
import { Queue } from 'bullmq';
import type { RedisClient } from './redis-connection';
import { QUEUE_KINDS, type Keys, type QueueKind } from './keys';
import type { ChunkJobData } from './workload';

export type ChunkQueue = Queue<ChunkJobData>;
export type ChunkQueues = Record<QueueKind, ChunkQueue>;

export function openQueues(connection: RedisClient, keys: Keys): ChunkQueues {
  const entries = QUEUE_KINDS.map((kind) => [kind, new Queue<ChunkJobData>(keys.queueName(kind), { connection, prefix: keys.bullPrefix })] as const);
  return Object.fromEntries(entries) as ChunkQueues;
}

export async function closeQueues(queues: ChunkQueues): Promise<void> {
  await Promise.all(Object.values(queues).map((queue) => queue.close()));
}

export interface QueueInitialisationOptions {
  /** Aborted when the process stops: no more attempts, the promise rejects. */
  signal: AbortSignal;
  /** Told of each failed attempt, and how long until the next. */
  onRetry?: (error: unknown, retryInMs: number) => void;
  /** @defaultValue 500 */
  firstDelayMs?: number;
  /** @defaultValue 10000 */
  maxDelayMs?: number;
}

/**
 * Resolves once every queue is initialised, trying again (with backoff) until it succeeds or `signal`
 * aborts. BullMQ initialises a queue once (a PING-less wait for the connection, then INFO) and keeps a
 * failed initialisation for good: a Redis that went away between the connection's `ready` and the INFO
 * would leave the queue unusable. A queue whose initialisation failed has it run again.
 */
export async function initialiseQueues(queues: ChunkQueue[], options: QueueInitialisationOptions): Promise<void> {
  const { signal, onRetry, firstDelayMs = 500, maxDelayMs = 10_000 } = options;
  for (let failures = 0; ; failures++) {
    const outcomes = await Promise.allSettled(queues.map((queue) => queue.waitUntilReady()));
    const failed = outcomes.flatMap((outcome, index) => (outcome.status === 'rejected' ? [{ queue: queues[index], error: outcome.reason as unknown }] : []));
    if (failed.length === 0) return;
    if (signal.aborted) throw failed[0].error;
    const delayMs = Math.min(maxDelayMs, firstDelayMs * 2 ** Math.min(failures, 16));
    onRetry?.(failed[0].error, delayMs);
    await abortableDelay(delayMs, signal);
    if (signal.aborted) throw failed[0].error;
    for (const { queue } of failed) restartInitialisation(queue);
  }
}

/** The part of BullMQ's RedisConnection (classes/redis-connection.js) that holds and runs a queue's initialisation. */
interface BullConnectionInternals {
  initializing?: Promise<unknown>;
  init?: () => Promise<unknown>;
  _client?: {
    off(event: string, listener: (...args: unknown[]) => void): unknown;
    getMaxListeners(): number;
    setMaxListeners(count: number): unknown;
  };
  handleClientError?: (...args: unknown[]) => void;
  handleClientClose?: (...args: unknown[]) => void;
  handleClientReady?: (...args: unknown[]) => void;
}

/** Runs a queue's failed initialisation again; `init` adds its listeners on the client again, so the old ones go. */
function restartInitialisation(queue: ChunkQueue): void {
  const connection = (queue as unknown as { connection?: BullConnectionInternals }).connection;
  if (!connection || typeof connection.init !== 'function') throw new Error('cannot initialise a BullMQ queue again (BullMQ changed?)');
  const client = connection._client;
  if (client) {
    if (connection.handleClientError) client.off('error', connection.handleClientError);
    if (connection.handleClientClose) client.off('close', connection.handleClientClose);
    if (connection.handleClientReady) client.off('ready', connection.handleClientReady);
    // `init` raises the client's listener limit by 3 for them each time.
    client.setMaxListeners(Math.max(0, client.getMaxListeners() - 3));
  }
  connection.initializing = connection.init();
  connection.initializing.catch(() => undefined);
  // Its scripts hold the client promise they were made with, the failed one: made again.
  const internals = queue as unknown as { createScripts?: () => void; metaValues?: Record<string, string | number>; closing?: Promise<void> };
  if (typeof internals.createScripts !== 'function') throw new Error('cannot initialise a BullMQ queue again (BullMQ changed?)');
  internals.createScripts();
  // What the Queue's constructor writes once initialised (the queue's meta hash), written now.
  queue
    .waitUntilReady()
    .then((client) => (internals.closing || !internals.metaValues ? undefined : client.hset(queue.keys.meta, internals.metaValues)))
    .catch(() => undefined);
}

function abortableDelay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
