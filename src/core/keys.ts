/**
 * Every Redis key and channel chunkmill uses, named in one place. A workload's keys share a hash tag
 * (`{id}`) so that they live in one Redis Cluster slot and a Lua script may touch them together.
 */

export const QUEUE_KINDS = ['compute', 'fetch'] as const;
export type QueueKind = (typeof QUEUE_KINDS)[number];

export interface WorkloadKeys {
  /** Hash: the workload's state and counters. */
  meta: string;
  /** Hash: item index → JSON result, for items that succeeded. */
  results: string;
  /** Hash: item index → JSON {code, message}, for items that failed for good. */
  errors: string;
  /** Pub/sub channel: progress, results and the final state as they happen. */
  events: string;
  /** Pub/sub channel: the final status alone, once, for those who only wait for the end (long polls). */
  done: string;
  /** Sorted set: fetch concurrency leases (lease id → expiry in ms), the workload-wide in-flight limit. */
  fetchLeases: string;
}

export class Keys {
  constructor(readonly prefix: string) {}

  /** BullMQ's own keys live under this prefix, next to ours. */
  get bullPrefix(): string {
    return this.prefix;
  }

  queueName(kind: QueueKind): string {
    return kind;
  }

  /** Sorted set of workload ids by creation time (ms), newest last. */
  get workloadIndex(): string {
    return `${this.prefix}:workloads`;
  }

  /** Pub/sub channel on which a cancelled workload's id is announced to every worker. */
  get cancelChannel(): string {
    return `${this.prefix}:cancel`;
  }

  idempotency(keyDigest: string): string {
    return `${this.prefix}:idempotency:${keyDigest}`;
  }

  /** Counter of one API token's requests in one rate-limit window (a digest, never the token). */
  rateLimit(tokenDigest: string, window: number): string {
    return `${this.prefix}:ratelimit:${tokenDigest}:${window}`;
  }

  workload(id: string): WorkloadKeys {
    const base = `${this.prefix}:wl:{${id}}`;
    return {
      meta: `${base}:meta`,
      results: `${base}:results`,
      errors: `${base}:errors`,
      events: `${base}:events`,
      done: `${base}:done`,
      fetchLeases: `${base}:fetch-leases`,
    };
  }
}
