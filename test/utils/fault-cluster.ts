/**
 * A whole chunkmill for one fault scenario, nothing shared: its own `redis-server` (free port, own
 * data folder, AOF everysec, noeviction), or its own Redis Cluster (`redisCluster`, see
 * redis-cluster.ts), and the producer and worker hosts as real processes from dist/, with short BullMQ
 * lock and stall settings so that lost locks are noticed within seconds. Everything it started is
 * killed and removed by `close()`, whatever state the scenario left.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { createRedis, type RedisClient } from '../../src/core/redis-connection';
import { RedisServer, freePort } from '../../src/core/redis-server';
import { LocalRedisCluster, type LocalRedisClusterOptions } from './redis-cluster';
import { ApiClient, type ApiAnswer } from './api-client';
import { FAULT_TASKS } from './chunkmill-harness';
import { ExactlyOnceLedger, type ExpectedItem } from './exactly-once-audit';
import { spawnRole, type LogLine, type RoleProcess } from './role-process';

export interface FaultClusterOptions {
  /** Extra `redis-server` arguments, e.g. ['--maxmemory', '4mb']. */
  redisArgs?: string[];
  /** Run on a Redis Cluster started for the scenario (`redis+cluster://...`) instead of one redis-server. */
  redisCluster?: LocalRedisClusterOptions;
  /**
   * CHUNKMILL_PREFIX of the roles, or a function that picks it once Redis is up (e.g. so that two keys
   * land on different cluster masters).
   * @defaultValue 'chunkmill'
   */
  prefix?: string | ((redisCluster: LocalRedisCluster | undefined) => Promise<string>);
  /** Environment of every role (on top of the scenario defaults below). */
  env?: Record<string, string>;
  producerEnv?: Record<string, string>;
  workerEnv?: Record<string, string>;
  /**
   * Worker hosts started at once.
   * @defaultValue 1
   */
  workers?: number;
  /** API token the test client sends. */
  token?: string;
}

/** Seconds-scale BullMQ settings: a frozen or dead worker's chunk is taken over after ~2-3 s. */
export const FAST_FAULT_ENV: Record<string, string> = {
  LOCK_DURATION_MS: '2000',
  STALLED_INTERVAL_MS: '1000',
  MAX_STALLED_COUNT: '2',
  RETRY_BACKOFF_MS: '100',
  SHUTDOWN_GRACE_MS: '5000',
  WORKER_PROCESSES: '2',
  WORKER_THREADS: '1',
  WORKER_METRICS_PORT: '0',
};

export class FaultCluster {
  readonly workers: RoleProcess[] = [];
  readonly ledger: ExactlyOnceLedger;
  producer!: RoleProcess;
  api!: ApiClient;
  private readonly connections: RedisClient[] = [];
  private readonly env: Record<string, string>;

  private constructor(
    private readonly server: RedisServer | undefined,
    /** The scenario's Redis Cluster, when it runs on one (`redisCluster`). */
    readonly redisCluster: LocalRedisCluster | undefined,
    /** Redis data folder and the fault tasks' marker folder live under here. */
    readonly dir: string,
    private readonly options: FaultClusterOptions,
    readonly prefix: string,
  ) {
    fs.mkdirSync(this.faultDir, { recursive: true });
    this.env = {
      REDIS_URL: this.redisUrl,
      CHUNKMILL_PREFIX: prefix,
      CHUNKMILL_TASK_MODULES: FAULT_TASKS,
      CHUNKMILL_FAULT_DIR: this.faultDir,
      PORT: '0',
      HOST: '127.0.0.1',
      ...FAST_FAULT_ENV,
      ...options.env,
    };
    this.ledger = new ExactlyOnceLedger(
      () => this.api,
      () => this.client(),
      prefix,
    );
  }

  static async start(name: string, options: FaultClusterOptions = {}): Promise<FaultCluster> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `chunkmill-fault-${name}-`));
    let server: RedisServer | undefined;
    let redisCluster: LocalRedisCluster | undefined;
    let prefix: string;
    try {
      if (options.redisCluster) redisCluster = await LocalRedisCluster.start(name, options.redisCluster);
      else {
        server = new RedisServer({ port: await freePort(), dir: path.join(dir, 'redis'), args: options.redisArgs });
        await server.start();
      }
      prefix = typeof options.prefix === 'function' ? await options.prefix(redisCluster) : (options.prefix ?? 'chunkmill');
    } catch (error) {
      await server?.stop({ hard: true });
      await redisCluster?.close();
      fs.rmSync(dir, { recursive: true, force: true });
      throw error;
    }
    const cluster = new FaultCluster(server, redisCluster, dir, options, prefix);
    try {
      await cluster.startProducer();
      for (let i = 0; i < (options.workers ?? 1); i++) await cluster.startWorker();
    } catch (error) {
      await cluster.close();
      throw error;
    }
    return cluster;
  }

  /** The scenario's single redis-server (not there when it runs on a cluster). */
  get redis(): RedisServer {
    if (!this.server) throw new Error('this scenario runs on a Redis Cluster: use redisCluster');
    return this.server;
  }

  /** REDIS_URL of the roles: `redis://` or `redis+cluster://`. */
  get redisUrl(): string {
    return this.redisCluster?.url ?? this.server!.url;
  }

  get faultDir(): string {
    return path.join(this.dir, 'faults');
  }

  async startProducer(env: Record<string, string> = {}): Promise<RoleProcess> {
    // Kept before it is ready, so that close() kills it even when its start fails.
    this.producer = spawnRole('producer', { env: { ...this.env, ...this.options.producerEnv, ...env } });
    const listening = await this.producer.waitForLog((line) => line.msg === 'producer listening');
    this.api = new ApiClient(`http://127.0.0.1:${Number(listening.port)}`, this.options.token);
    return this.producer;
  }

  /** Starts a worker host; `wrap` runs it through a command, e.g. `ip netns exec <ns>`. */
  async startWorker(env: Record<string, string> = {}, wrap?: string[]): Promise<RoleProcess> {
    const merged = { ...this.env, ...this.options.workerEnv, ...env };
    const worker = spawnRole('worker', { env: merged, wrap });
    this.workers.push(worker);
    await worker.waitForLog((line) => line.msg === 'worker process ready', 20_000, Number(merged.WORKER_PROCESSES));
    // Registered too (its first heartbeat is written), so that later key counts do not see it arrive.
    await worker.waitForLog((line) => line.msg === 'worker host started', 20_000);
    return worker;
  }

  /** A direct connection to this scenario's single redis-server, closed by close(). */
  connect(): Redis {
    const redis = new Redis(this.redis.url, { maxRetriesPerRequest: 1, lazyConnect: false });
    redis.on('error', () => undefined);
    this.connections.push(redis);
    return redis;
  }

  /** A connection to this scenario's Redis, a cluster client on a cluster; closed by close(). */
  client(): RedisClient {
    if (!this.redisCluster) return this.connect();
    const redis = createRedis(this.redisCluster.url, 'worker', 'fault-test');
    redis.on('error', () => undefined);
    this.connections.push(redis);
    return redis;
  }

  /** Posts a workload; when it is accepted (202), the ledger expects `expected` from it. */
  async submit(body: Record<string, unknown>, expected: ExpectedItem[], headers: Record<string, string> = {}): Promise<ApiAnswer> {
    const answer = await this.api.post('/v1/workloads', body, headers);
    if (answer.status === 202) this.ledger.accept(answer.body.id, expected);
    return answer;
  }

  /** Which process started each tagged item and when (wall-clock ms), in order (written by the fault tasks). */
  starts(): Array<{ tag: string; pid: number; at: number }> {
    const file = path.join(this.faultDir, 'starts.log');
    if (!fs.existsSync(file)) return [];
    return fs
      .readFileSync(file, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        const [tag, pid, at] = line.split(' ');
        return { tag, pid: Number(pid), at: Number(at) };
      });
  }

  /** Waits until an item tagged `tag` has started `count` times; answers the pid of that start. */
  async waitForStart(tag: string, count = 1, timeoutMs = 20_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.starts().filter((start) => start.tag === tag);
      if (found.length >= count) return found[count - 1].pid;
      if (Date.now() > deadline) throw new Error(`item "${tag}" did not start ${count} time(s) within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  /** Log lines of every worker host that match. */
  workerLines(match: (line: LogLine) => boolean): LogLine[] {
    return this.workers.flatMap((worker) => worker.lines.filter(match));
  }

  /** A worker host's live worker processes (cluster children), as its primary reported their forks and deaths. */
  workerProcesses(worker: RoleProcess): Array<{ pid: number; forkedAt: number }> {
    const forked = new Map<number, number>();
    for (const line of worker.lines) {
      if (line.msg === 'worker process forked') forked.set(Number(line.childPid), Number(line.time));
      else if (line.msg === 'worker process died; forking a new one') forked.delete(Number(line.childPid));
    }
    return [...forked].map(([pid, forkedAt]) => ({ pid, forkedAt }));
  }

  /** Worker processes (cluster children) that died, as their host reported. */
  deaths(): LogLine[] {
    return this.workerLines((line) => line.msg === 'worker process died; forking a new one');
  }

  /** Kills everything this scenario started (SIGKILL, whole process groups) and removes its folder. */
  async close(): Promise<void> {
    for (const redis of this.connections.splice(0)) redis.disconnect();
    const roles = [...this.workers, ...(this.producer ? [this.producer] : [])];
    await Promise.all(roles.map((role) => role.stop('SIGKILL', 5_000)));
    await this.server?.stop({ hard: true });
    await this.redisCluster?.close();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Sends a signal to one process (not its group); false when it is gone already. */
export function signalProcess(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
}

export function isAlive(pid: number): boolean {
  return signalProcess(pid, 0 as unknown as NodeJS.Signals);
}
