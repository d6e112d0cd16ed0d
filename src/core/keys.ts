/**
 * Every Redis key and channel chunkmill uses, named in one place. A workload's keys share a hash tag
 * (`{id}`) so that they live in one Redis Cluster slot and a Lua script may touch them together.
 */

export const QUEUE_KINDS = ['compute', 'fetch'] as const;
export type QueueKind = (typeof QUEUE_KINDS)[number];

export interface WorkloadKeys {
  /** Hash: the workload's state and counters. */
  meta: string;
  /** Hash: chunk index → the chunk's item outcomes, packed (core/results-packing.ts). */
  results: string;
  /** Pub/sub channel: progress, results and the final state as they happen. */
  events: string;
  /** Sorted set: fetch concurrency leases (lease id → expiry in ms), the workload-wide in-flight limit. */
  fetchLeases: string;
  /** Sorted set: worker processes that asked for fetch leases and got too few (process token → expiry in ms). */
  fetchLeaseDemand: string;
  /**
   * Hash: chunk index → JSON chunk job data, for every chunk, until the workload ends: what the feeder
   * feeds (chunk-feeder.ts) and what the reconciler enqueues again when a chunk's job was lost.
   */
  chunks: string;
  /** Hash: the feeding state of a windowed workload (next chunk to feed, chunks done, window, job options). */
  feed: string;
  /** Bitmap: bit i is set once chunk i has finished (each chunk counted once). */
  doneChunks: string;
  /**
   * Hash: header set number → JSON headers, for a fetch workload's requests: kept out of the chunk jobs
   * (and so out of bull-board) and read only by the worker that runs a chunk; deleted when the workload ends.
   */
  requestHeaders: string;
}

export class Keys {
  constructor(readonly prefix: string) {}

  /** BullMQ's own keys live under this prefix, next to ours. */
  get bullPrefix(): string {
    return this.prefix;
  }

  /**
   * A queue's name carries its own hash tag, so that all of one queue's BullMQ keys
   * (`prefix:{prefix-kind}:...`) share a Redis Cluster slot while different queues (and different
   * prefixes) land in different slots, spread over the cluster's nodes. Single Redis uses the same names.
   */
  queueName(kind: QueueKind): string {
    return `{${this.prefix}-${kind}}`;
  }

  /** Sorted set of workload ids by creation time (ms), newest last. */
  get workloadIndex(): string {
    return `${this.prefix}:workloads`;
  }

  /** Pub/sub channel on which a cancelled workload's id is announced to every worker. */
  get cancelChannel(): string {
    return `${this.prefix}:cancel`;
  }

  /**
   * Pub/sub channel on which every workload's final status is announced (`{"id","status"}`), so that a
   * producer listens once for all its long-polls.
   */
  get finishedChannel(): string {
    return `${this.prefix}:finished`;
  }

  /**
   * Pub/sub channel on which the fetch lease scripts announce, per workload, which worker processes wait
   * for leases (`<workload id> <announcing process> <waiting processes, comma-separated>`): holders learn
   * to share, waiters learn to ask (see worker/workload-slots.ts).
   */
  get fetchLeaseChannel(): string {
    return `${this.prefix}:fetch-lease-news`;
  }

  /**
   * Sorted set of the workloads not known to be final (id → creation ms): what the reconciler visits
   * (worker/workload-reconciler.ts), which also takes the final ones off.
   */
  get openWorkloads(): string {
    return `${this.prefix}:open`;
  }

  /** One cached item result: a digest of the task and its input, under one hash tag so MGET works on a cluster. */
  cachedResult(digest: string): string {
    return `${this.prefix}:{cache}:${digest}`;
  }

  /** Set of the worker host ids that registered; an id whose entry expired is dropped when listed. */
  get workerIndex(): string {
    return `${this.prefix}:workers`;
  }

  /** One worker host's registry entry (JSON), kept alive by its heartbeat (PX). */
  worker(id: string): string {
    return `${this.prefix}:worker:${id}`;
  }

  /** One Idempotency-Key's claim, under a digest of the tenant and the key (so each tenant has its own keys). */
  idempotency(keyDigest: string): string {
    return `${this.prefix}:idempotency:${keyDigest}`;
  }

  /** Counter of one tenant's requests in one rate-limit window (its name or digest id, never a token). */
  rateLimit(tenant: string, window: number): string {
    return `${this.prefix}:ratelimit:${tenant}:${window}`;
  }

  /** A dashboard sign-in (JSON), under a digest of its cookie's value; it expires on its own. */
  dashboardSession(sessionDigest: string): string {
    return `${this.prefix}:dashboard-session:${sessionDigest}`;
  }

  /**
   * String: a named Float64 array's raw little-endian bytes. The name is its own hash tag, so every
   * command on an array is a single-key command and arrays spread over a cluster's slots.
   */
  array(name: string): string {
    return `${this.prefix}:array:{${name}}`;
  }

  workload(id: string): WorkloadKeys {
    const base = `${this.prefix}:wl:{${id}}`;
    return {
      meta: `${base}:meta`,
      results: `${base}:results`,
      events: `${base}:events`,
      fetchLeases: `${base}:fetch-leases`,
      fetchLeaseDemand: `${base}:fetch-lease-demand`,
      chunks: `${base}:chunks`,
      feed: `${base}:feed`,
      doneChunks: `${base}:done-chunks`,
      requestHeaders: `${base}:request-headers`,
    };
  }
}
