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
