/**
 * Which worker hosts are alive and what they run. Each host's cluster primary writes its entry (JSON,
 * with a PX expiry of three heartbeats) every `WORKER_HEARTBEAT_MS`, and lists its id in a set. A
 * host that stops beating (killed, frozen, cut off) has its entry expire in Redis, so it drops off the
 * list after at most 3 × WORKER_HEARTBEAT_MS, by Redis's clock (hosts' clocks may differ). A host that
 * stops cleanly removes itself at once.
 *
 * The entry and the set are two single-key commands, never one MULTI, so they may live on different
 * cluster nodes. The set is only an index: an id in it whose entry is gone is removed when listed.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { REDIS_NOISE } from './logger';
import type { WorkerInfo } from '../contract';
import type { Keys } from './keys';
import type { RedisClient } from './redis-connection';
import { timeLimit } from './time-limit';

/** Heartbeats a host may miss before it drops off. */
export const MISSED_BEATS_UNTIL_GONE = 3;

/** What `GET /v1/workers` says about one live worker host: the contract's WorkerInfo (src/contract/workers.ts). */
export type WorkerHostInfo = WorkerInfo;

/** Tells two processes that use the same WORKER_ID apart. */
interface StoredEntry extends WorkerHostInfo {
  instance: string;
}

export class WorkerRegistry {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Keys,
    /** @defaultValue 5000 (WORKER_HEARTBEAT_MS) */
    readonly heartbeatMs = 5_000,
  ) {}

  /** How long after its last heartbeat a host drops off. */
  get expiresAfterMs(): number {
    return this.heartbeatMs * MISSED_BEATS_UNTIL_GONE;
  }

  /**
   * Writes (or renews) a host's entry. Answers the entry it replaced when that one belonged to another
   * live process with the same id: two hosts are sharing a WORKER_ID.
   */
  async beat(info: Omit<WorkerHostInfo, 'lastSeenAt' | 'expiresAt'>, instance: string, now = Date.now()): Promise<WorkerHostInfo | undefined> {
    const entry: StoredEntry = { ...info, lastSeenAt: now, expiresAt: now + this.expiresAfterMs, instance };
    const previous = await this.redis.set(this.keys.worker(info.id), JSON.stringify(entry), 'PX', this.expiresAfterMs, 'GET');
    await this.redis.sadd(this.keys.workerIndex, info.id);
    const replaced = previous ? parseEntry(previous) : undefined;
    return replaced && replaced.instance !== instance ? withoutInstance(replaced) : undefined;
  }

  /** Removes a host's entry, only if it is still this process's (a clean stop). */
  async remove(id: string, instance: string): Promise<void> {
    const current = await this.redis.get(this.keys.worker(id));
    if (current && parseEntry(current)?.instance !== instance) return;
    await this.redis.del(this.keys.worker(id));
    await this.redis.srem(this.keys.workerIndex, id);
  }

  /** The live hosts, by id. */
  async list(): Promise<WorkerHostInfo[]> {
    const ids = await this.redis.smembers(this.keys.workerIndex);
    // One GET per host, sent together: the entries live in different slots (on a cluster, nodes).
    const entries = await Promise.all(ids.map((id) => this.redis.get(this.keys.worker(id))));
    const live: WorkerHostInfo[] = [];
    const gone: string[] = [];
    entries.forEach((json, position) => {
      const entry = json ? parseEntry(json) : undefined;
      if (entry) live.push(withoutInstance(entry));
      else gone.push(ids[position]);
    });
    if (gone.length > 0) await this.redis.srem(this.keys.workerIndex, ...gone);
    return live.sort((a, b) => a.id.localeCompare(b.id));
  }
}

function parseEntry(json: string): StoredEntry | undefined {
  try {
    return JSON.parse(json) as StoredEntry;
  } catch {
    return undefined;
  }
}

function withoutInstance(entry: StoredEntry): WorkerHostInfo {
  const { instance: _instance, ...info } = entry;
  return info;
}

/** How long a stopping host tries to remove its entry. */
const STOP_WAIT_MS = 2_000;

export interface WorkerHeartbeatOptions {
  registry: WorkerRegistry;
  /** The host's entry as it is now; called before every beat. */
  describe: () => Promise<Omit<WorkerHostInfo, 'lastSeenAt' | 'expiresAt'>>;
  logger: Logger;
}

/** Beats every `registry.heartbeatMs` until stopped; a beat that fails (Redis down) is logged and retried at the next one. */
export class WorkerHeartbeat {
  private readonly instance = randomUUID();
  private timer?: NodeJS.Timeout;
  private beating: Promise<void> = Promise.resolve();
  private id?: string;
  private warnedAbout?: string;
  private lastBeatAt?: number;

  constructor(private readonly options: WorkerHeartbeatOptions) {}

  /** Whether the host's entry is in the registry: a beat succeeded, recently enough that the entry has not expired. */
  get registered(): boolean {
    return this.lastBeatAt !== undefined && Date.now() - this.lastBeatAt < this.options.registry.expiresAfterMs;
  }

  /**
   * Registers the host and keeps beating. Resolves after the first beat, or after one heartbeat period
   * when Redis is slow or down: a worker host starts (and can be stopped) without Redis.
   */
  async start(): Promise<void> {
    this.beating = this.beat();
    this.timer = setInterval(() => {
      this.beating = this.beating.then(() => this.beat());
    }, this.options.registry.heartbeatMs);
    await timeLimit(
      this.beating.catch(() => undefined),
      this.options.registry.heartbeatMs,
      undefined,
    );
  }

  /** Stops beating and removes the host from the registry (giving up after a while if Redis is down: the entry then expires). */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    const removal = this.beating.then(async () => {
      if (this.id === undefined) return;
      await this.options.registry
        .remove(this.id, this.instance)
        .catch((error: unknown) => this.options.logger.warn({ err: error }, 'could not remove this host from the worker registry'));
    });
    await timeLimit(
      removal.catch(() => undefined),
      STOP_WAIT_MS,
      undefined,
    );
  }

  private async beat(): Promise<void> {
    try {
      const info = await this.options.describe();
      this.id = info.id;
      const sentAt = Date.now();
      const other = await this.options.registry.beat(info, this.instance);
      this.lastBeatAt = sentAt;
      if (other && this.warnedAbout !== other.hostname + other.pid) {
        this.warnedAbout = other.hostname + other.pid;
        this.options.logger.warn({ workerId: info.id, otherHost: other.hostname, otherPid: other.pid }, 'another worker host uses the same WORKER_ID');
      }
    } catch (error) {
      this.options.logger.warn({ err: error, ...REDIS_NOISE }, 'worker registry heartbeat failed');
    }
  }
}
