/**
 * Durability of acknowledged writes (REDIS_WAIT_REPLICAS): Redis replicates asynchronously, so a master
 * that fails (or stalls and is replaced by its replica) may take its last writes with it. Where chunkmill
 * acknowledges something (a 202 for a submission, an item's outcome before its chunk completes), it first
 * sends WAIT to the master that holds the keys: the answer counts the replicas that have every earlier
 * write of that connection. Fewer than asked within the timeout is a ReplicaWaitError, which is treated
 * like Redis being unavailable: the submission is refused (and rolled back), the chunk runs again later.
 *
 * WAIT has no key, so on a Redis Cluster it is sent in a pipeline behind a command on the key whose
 * master must answer (ioredis routes a pipeline by its keyed commands). With `replicas` 0 nothing is sent.
 */
import { execOrThrow, type RedisClient } from './redis-connection';
import { ReplicaWaitError } from './redis-errors';

export interface ReplicaWaitOptions {
  /** Replicas that must have a write before it counts as acknowledged (REDIS_WAIT_REPLICAS). @defaultValue 0 */
  replicas?: number;
  /** How long WAIT may take (REDIS_WAIT_TIMEOUT_MS). @defaultValue 1000 */
  timeoutMs?: number;
}

type Pipeline = ReturnType<RedisClient['pipeline']>;

export class ReplicaWait {
  readonly replicas: number;
  readonly timeoutMs: number;

  constructor(options: ReplicaWaitOptions = {}) {
    this.replicas = options.replicas ?? 0;
    this.timeoutMs = options.timeoutMs ?? 1000;
  }

  get enabled(): boolean {
    return this.replicas > 0;
  }

  /** Appends a WAIT to a pipeline whose other commands route it; check its reply with `check`. */
  append(pipeline: Pipeline): void {
    if (this.enabled) pipeline.call('WAIT', this.replicas, this.timeoutMs);
  }

  /** Throws a ReplicaWaitError when a WAIT reply counts too few replicas. */
  check(acknowledged: unknown): void {
    if (this.enabled && Number(acknowledged) < this.replicas) throw new ReplicaWaitError(this.replicas, Number(acknowledged));
  }

  /** Waits until every earlier write on the masters of `keys` has reached enough replicas. */
  async afterWritesTo(redis: RedisClient, keys: string[]): Promise<void> {
    if (!this.enabled) return;
    await Promise.all(
      [...new Set(keys)].map(async (key) => {
        const pipeline = redis.pipeline().exists(key);
        this.append(pipeline);
        const [, acknowledged] = await execOrThrow(pipeline);
        this.check(acknowledged);
      }),
    );
  }
}
