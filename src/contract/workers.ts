/** `GET /v1/workers`: the live worker hosts and what they run. */
import { z } from 'zod';
import { WORKLOAD_TYPES } from './workload-answers';

const perQueue = z.object({ compute: z.number().int(), fetch: z.number().int() });

export const workerInfoSchema = z
  .object({
    id: z.string().meta({ description: 'WORKER_ID (by default the hostname)' }),
    hostname: z.string(),
    pid: z.number().int().meta({ description: "The host's cluster primary" }),
    queues: z.array(z.enum(WORKLOAD_TYPES)).meta({ description: 'The queues it takes chunks from' }),
    processes: z.number().int().meta({ description: 'Worker processes' }),
    threads: z.number().int().meta({ description: 'Compute threads per process' }),
    concurrency: perQueue.meta({ description: 'Chunks a process holds at once, per queue' }),
    activeChunks: perQueue.meta({ description: 'Chunks running on the host at its last heartbeat, per queue' }),
    startedAt: z.number().int().meta({ description: 'ms since epoch' }),
    lastSeenAt: z.number().int().meta({ description: 'ms since epoch, the last heartbeat' }),
    expiresAt: z
      .number()
      .int()
      .meta({ description: "ms since epoch, by the host's clock: gone from the list if no heartbeat by then (3 × WORKER_HEARTBEAT_MS)" }),
  })
  .meta({ description: 'One live worker host' });
export type WorkerInfo = z.infer<typeof workerInfoSchema>;

export const workerListSchema = z.object({ workers: z.array(workerInfoSchema).meta({ description: 'Hosts whose last heartbeat is recent, by id' }) });
export type WorkerList = z.infer<typeof workerListSchema>;
