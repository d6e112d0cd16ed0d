/**
 * Redis connections, made one way for every role. Each purpose gets the settings that fit it:
 * - `producer`: fail fast. A request during an outage gets a 503 at once rather than hanging, and
 *   nothing is half-written because commands are never queued for later. Every command has a deadline
 *   (`commandTimeoutMs`): a Redis that stalls (SIGSTOP, a long pause, a frozen VM, a partition) answers
 *   nothing and closes nothing, and without a deadline a request would wait for as long as the stall.
 * - `worker`: ride out outages. BullMQ's blocking commands need `maxRetriesPerRequest: null`, and a
 *   worker should resume by itself when Redis comes back, without a restart. No command deadline: ioredis
 *   starts it when the command is issued, offline queue included, so a worker would fail its writes in a
 *   two-second restart instead of waiting for Redis; and BullMQ's blocking connection (a duplicate of this
 *   one) waits in BZPOPMIN for up to 10 s by design (drainDelay 5 s, at most 10 s with delayed jobs) and
 *   has its own watchdog (block time + 1 s, then it reconnects). A stalled single Redis is waited for,
 *   as a restarting one is; on a cluster the topology refresh below moves the worker off a stalled master.
 * - `subscriber`: pub/sub only; re-subscribes by itself after a reconnect. Request paths that subscribe
 *   give themselves a deadline (RedisSubscriber.listen's `timeoutMs`).
 * A `redis+cluster://` URL (see redis-cluster-url.ts) gives an ioredis Cluster with the same settings
 * on each node's connection; `enableOfflineQueue` is the cluster's own option there.
 *
 * Cluster failover (learnt from a 3 + 3 cluster with `cluster-node-timeout 2000`, one master SIGSTOPped
 * for 15-30 s; test/faults/redis-stalls.test.ts):
 * - The replica is promoted 3-5 s after the stall began, but ioredis has no periodic slot refresh by
 *   default, and it only learns of a new map from a MOVED reply, which a frozen node never sends: every
 *   command for those slots waited on the frozen node's socket for the whole stall.
 * - When the old master wakes, it first runs the commands waiting in its sockets, and only then learns
 *   that it was demoted (and resyncs from the new master, dropping what it ran): a client saw "OK" for a
 *   write that no longer exists. `min-replicas-to-write 1` does not stop that first batch (measured: one
 *   acknowledged INCR lost with it on), because the master re-counts its good replicas once a second,
 *   after the batch; it does refuse (NOREPLICAS) what comes after.
 * - With `slotsRefreshInterval`, the client asks for CLUSTER SLOTS every second (from a node that answers
 *   within `slotsRefreshTimeout`). Once the failover is done, the frozen node serves no slot in the map,
 *   ioredis drops its connection, and the commands waiting on it fail with "Connection is closed", which
 *   the cluster client retries on the new master after `retryDelayOnFailover` (100 ms): the old master
 *   never gets to answer them. Measured: commands waited ~2-3 s past the promotion, not the whole stall.
 * - A command that times out (producer) also asks for a refresh at once, rather than at the next tick.
 * - With one replica per master and `min-replicas-to-write 1`, the promoted replica has no replica of
 *   its own until the old master wakes and resyncs: its slots refuse writes (NOREPLICAS, a 503) for the
 *   rest of the stall. No acknowledged write is lost; the shard is read-only meanwhile. Two replicas per
 *   master keep it writable.
 */
import { Cluster, Redis, type ClusterNode, type ClusterOptions, type RedisOptions } from 'ioredis';
import { isClusterUrl, parseClusterUrl } from './redis-cluster-url';
import { timeLimit } from './time-limit';

/**
 * A connection to one Redis or to a Redis Cluster: the code above this file does not care which,
 * because every multi-key command, MULTI, pipeline and script stays within one hash slot.
 */
export type RedisClient = Redis | Cluster;

/**
 * Runs a pipeline or MULTI and answers its replies, throwing the first command's error as a single
 * command would (e.g. Redis unreachable), rather than leaving a TypeError to happen further down.
 */
export async function execOrThrow<Reply = unknown>(batch: { exec(): Promise<Array<[Error | null, unknown]> | null> }): Promise<Reply[]> {
  const replies = await batch.exec();
  if (!replies) throw new Error('Redis pipeline or transaction was aborted');
  for (const [error] of replies) if (error) throw error;
  return replies.map(([, reply]) => reply as Reply);
}

export type RedisPurpose = 'producer' | 'worker' | 'subscriber';

const PURPOSE_OPTIONS: Record<RedisPurpose, RedisOptions> = {
  producer: { enableOfflineQueue: false, maxRetriesPerRequest: 1 },
  worker: { maxRetriesPerRequest: null },
  subscriber: { maxRetriesPerRequest: null },
};

/** Purposes whose every command has a deadline (see the header). */
const WITH_COMMAND_DEADLINE: ReadonlySet<RedisPurpose> = new Set(['producer']);

/** The reply ioredis gives a command past its `commandTimeout`. */
export const COMMAND_TIMED_OUT = 'Command timed out';

/** How often a cluster client asks for the slot map, so that it follows a failover (see the header). */
export const SLOTS_REFRESH_INTERVAL_MS = 1_000;
/** How long one node may take to answer CLUSTER SLOTS before the next node is asked. */
export const SLOTS_REFRESH_TIMEOUT_MS = 1_000;

export interface RedisConnectionOptions {
  /**
   * Deadline of every command of a `producer` connection ("Command timed out" past it, a 503 for the
   * request). Not used for `worker` and `subscriber` connections.
   * @defaultValue 2000 (REDIS_COMMAND_TIMEOUT_MS)
   */
  commandTimeoutMs?: number;
}

const DEFAULT_CONNECTION_OPTIONS: Required<RedisConnectionOptions> = { commandTimeoutMs: 2_000 };

/** Reconnect quickly at first, then every 2 s at most, for ever. */
const retryStrategy = (attempt: number): number => Math.min(attempt * 100, 2000);

/**
 * A cluster client that asks for the slot map at once when a command of it timed out: the usual reason
 * is a stalled master whose replica is being promoted, and the sooner the client sees the new map, the
 * sooner it drops the stalled node (and its waiting commands move to the new master).
 */
class FailoverAwareCluster extends Cluster {
  constructor(
    private readonly seeds: ClusterNode[],
    options: ClusterOptions,
  ) {
    super(seeds, options);
  }

  override sendCommand(...args: Parameters<Cluster['sendCommand']>): ReturnType<Cluster['sendCommand']> {
    const reply = super.sendCommand(...args) as Promise<unknown>;
    reply.catch((error: unknown) => {
      if (error instanceof Error && error.message === COMMAND_TIMED_OUT && this.status === 'ready') this.refreshSlotsCache();
    });
    return reply;
  }

  /** BullMQ duplicates its connection for blocking commands: the duplicate follows failovers too. */
  override duplicate(overrideStartupNodes: ClusterNode[] = [], overrideOptions: ClusterOptions = {}): Cluster {
    // BullMQ passes `{ connectionName }` as the first argument (meant for a single Redis): not a node list.
    const nodes = Array.isArray(overrideStartupNodes) && overrideStartupNodes.length > 0 ? overrideStartupNodes : this.seeds.slice(0);
    return new FailoverAwareCluster(nodes, { ...this.options, ...overrideOptions });
  }
}

export function createRedis(url: string, purpose: RedisPurpose, name = `chunkmill-${purpose}`, connectionOptions: RedisConnectionOptions = {}): RedisClient {
  const { commandTimeoutMs } = { ...DEFAULT_CONNECTION_OPTIONS, ...connectionOptions };
  const deadline: RedisOptions = WITH_COMMAND_DEADLINE.has(purpose) ? { commandTimeout: commandTimeoutMs } : {};
  if (!isClusterUrl(url)) return new Redis(url, { connectionName: name, retryStrategy, ...PURPOSE_OPTIONS[purpose], ...deadline });
  const { nodes, redisOptions } = parseClusterUrl(url);
  const { enableOfflineQueue, ...perNode } = PURPOSE_OPTIONS[purpose];
  const options: ClusterOptions = {
    redisOptions: { ...redisOptions, ...perNode, ...deadline, connectionName: name },
    clusterRetryStrategy: retryStrategy,
    slotsRefreshInterval: SLOTS_REFRESH_INTERVAL_MS,
    slotsRefreshTimeout: SLOTS_REFRESH_TIMEOUT_MS,
    ...(enableOfflineQueue === undefined ? {} : { enableOfflineQueue }),
  };
  return new FailoverAwareCluster(nodes, options);
}

/** The connections to scan: every master of a cluster, or the one Redis. */
export function scanTargets(redis: RedisClient): Redis[] {
  return redis instanceof Cluster ? redis.nodes('master') : [redis];
}

/** How long a closing connection waits for Redis to answer its QUIT before it drops the socket. */
const QUIT_WAIT_MS = 2_000;

/**
 * Closes a connection. Connected: QUIT, so that Redis answers what was sent before it (for at most
 * QUIT_WAIT_MS: a frozen Redis does not hold up a shutdown). Not connected (Redis away): dropped at
 * once, since a QUIT would wait in the offline queue for a Redis that may never come back. Safe to
 * call twice.
 */
export async function closeRedis(redis: RedisClient): Promise<void> {
  if (redis.status === 'end') return;
  if (redis.status !== 'ready') {
    redis.disconnect();
    return;
  }
  const answered = await timeLimit(
    redis.quit().then(
      () => true,
      () => false,
    ),
    QUIT_WAIT_MS,
    false,
  );
  if (!answered) redis.disconnect();
}

/**
 * Runs `steps` (a role's shutdown) for at most `ms`; past it, `connections` are dropped and the steps are
 * no longer waited for. A worker's connections keep commands queued while Redis is away and retry them
 * for ever (and BullMQ's close waits for its fetch loop's command), so a Redis that is away or frozen
 * would otherwise hold the process up until a SIGKILL. Answers whether the steps finished in time.
 */
export async function withRedisDeadline(connections: RedisClient[], ms: number, steps: () => Promise<void>): Promise<boolean> {
  const running = steps();
  // Once given up on, a step that fails later is nobody's business any more.
  running.catch(() => undefined);
  const finished = await timeLimit(
    running.then(() => true),
    ms,
    false,
  );
  if (!finished) for (const redis of connections) redis.disconnect();
  return finished;
}

/** Resolves when every connection is ready, or after `timeoutMs` (whatever is not up by then stays down). */
export async function waitUntilReady(connections: RedisClient[], timeoutMs: number): Promise<boolean> {
  const ready = connections.map((redis) =>
    redis.status === 'ready' ? Promise.resolve() : new Promise<void>((resolve) => redis.once('ready', () => resolve())),
  );
  return timeLimit(
    Promise.all(ready).then(() => true),
    timeoutMs,
    false,
  );
}

/** Every key matching `pattern` (SCAN, not KEYS, so a large Redis is not blocked), on every master. */
export async function scanKeys(redis: RedisClient, pattern: string): Promise<string[]> {
  const found: string[] = [];
  for (const node of scanTargets(redis)) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      found.push(...keys);
    } while (cursor !== '0');
  }
  return found;
}

/**
 * Unlinks every key under `prefix:`. Keys of different slots cannot go in one UNLINK on a cluster,
 * so on a cluster each key is unlinked alone (the client pipelines them per node).
 */
export async function unlinkKeysWithPrefix(redis: RedisClient, prefix: string): Promise<number> {
  const keys = await scanKeys(redis, `${prefix}:*`);
  if (!(redis instanceof Cluster)) {
    let unlinked = 0;
    for (let i = 0; i < keys.length; i += 1000) unlinked += await redis.unlink(...keys.slice(i, i + 1000));
    return unlinked;
  }
  const counts = await Promise.all(keys.map((key) => redis.unlink(key)));
  return counts.reduce((sum, count) => sum + count, 0);
}
