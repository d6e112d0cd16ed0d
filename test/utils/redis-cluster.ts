/**
 * A throwaway Redis Cluster on loopback for one test: `masters` × (1 + `replicasPerMaster`)
 * `redis-server --cluster-enabled yes` on free ports, each with its own data folder under one temp dir,
 * joined by `redis-cli --cluster create ... --cluster-replicas N`. No persistence: a node that is killed
 * takes its data with it. `close()` kills every server and removes the folder, whatever state the test
 * left (a stopped node too: SIGKILL reaches a SIGSTOPped process).
 *
 * Without replicas (the default), a killed master's slots are simply gone (what the e2e cluster test
 * shows). With replicas, `stall()` freezes a node (SIGSTOP, as a long GC pause, a VM freeze or a partition
 * would look to the others): after `cluster-node-timeout` (2 s here) the others mark it failed and its
 * replica is promoted, usually within 3-5 s; when the old master wakes it learns of the newer config
 * epoch and turns into a replica of the new master, throwing away what it accepted in the meantime.
 * `minReplicasToWrite` makes it refuse those writes instead (NOREPLICAS): on waking, its replica's last
 * acknowledgement is older than `min-replicas-max-lag`.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { RedisServer, freePort } from '../../src/core/redis-server';
import { timeLimit } from '../../src/core/time-limit';

export interface LocalRedisClusterOptions {
  /** @defaultValue 3 */
  masters?: number;
  /**
   * Replicas of each master (`--cluster-replicas`).
   * @defaultValue 0
   */
  replicasPerMaster?: number;
  /**
   * `min-replicas-to-write` of every node: a master refuses writes (NOREPLICAS) unless this many
   * replicas acknowledged within `minReplicasMaxLagSeconds`. 0 leaves it off.
   * @defaultValue 0
   */
  minReplicasToWrite?: number;
  /**
   * `min-replicas-max-lag`, seconds.
   * @defaultValue 10 (Redis's default)
   */
  minReplicasMaxLagSeconds?: number;
  /**
   * `cluster-node-timeout`: how long a node may not answer before the others start a failover.
   * @defaultValue 2000
   */
  nodeTimeoutMs?: number;
  /** Extra `redis-server` arguments for every node, e.g. ['--cluster-require-full-coverage', 'no']. */
  args?: string[];
}

/** One node: its port and the server process. Which nodes are masters changes with failovers: ask `masters()`. */
export interface ClusterNode {
  port: number;
  server: RedisServer;
}

/** How long a question to one node may take before that node is taken for stalled or gone. */
const NODE_ANSWER_MS = 1_000;

export function redisClusterToolsInstalled(): boolean {
  return spawnSync('redis-cli', ['--version'], { stdio: 'ignore' }).status === 0;
}

export class LocalRedisCluster {
  /** Ports of nodes stopped by stall() and not yet continued: never asked anything meanwhile. */
  private readonly stalled = new Set<number>();

  private constructor(
    readonly nodes: ClusterNode[],
    readonly dir: string,
    private readonly options: LocalRedisClusterOptions,
  ) {}

  static async start(name: string, options: LocalRedisClusterOptions = {}): Promise<LocalRedisCluster> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `chunkmill-cluster-${name}-`));
    const nodes: ClusterNode[] = [];
    const cluster = new LocalRedisCluster(nodes, dir, options);
    const count = (options.masters ?? 3) * (1 + (options.replicasPerMaster ?? 0));
    try {
      for (let i = 0; i < count; i++) {
        const port = await freePort();
        const nodeDir = path.join(dir, `node-${port}`);
        const server = new RedisServer({
          port,
          dir: nodeDir,
          args: [
            '--cluster-enabled',
            'yes',
            '--cluster-config-file',
            path.join(nodeDir, `nodes-${port}.conf`),
            '--cluster-node-timeout',
            String(options.nodeTimeoutMs ?? 2000),
            '--appendonly',
            'no',
            ...(options.minReplicasToWrite
              ? ['--min-replicas-to-write', String(options.minReplicasToWrite), '--min-replicas-max-lag', String(options.minReplicasMaxLagSeconds ?? 10)]
              : []),
            ...(options.args ?? []),
          ],
        });
        nodes.push({ port, server });
        await server.start();
      }
      await cluster.create();
    } catch (error) {
      await cluster.close();
      throw error;
    }
    return cluster;
  }

  /** `redis+cluster://127.0.0.1:P1,127.0.0.1:P2,...`: every node is a seed. */
  get url(): string {
    return `redis+cluster://${this.nodes.map((node) => `127.0.0.1:${node.port}`).join(',')}`;
  }

  /** A plain connection to one node (not cluster-aware): for CLUSTER commands and per-node checks. */
  nodeConnection(port: number): Redis {
    const redis = new Redis(port, '127.0.0.1', { maxRetriesPerRequest: 1, lazyConnect: false, commandTimeout: NODE_ANSWER_MS });
    redis.on('error', () => undefined);
    return redis;
  }

  /** Runs a command on one node and closes the connection. */
  async onNode<T>(port: number, run: (redis: Redis) => Promise<T>): Promise<T> {
    const redis = this.nodeConnection(port);
    try {
      return await run(redis);
    } finally {
      redis.disconnect();
    }
  }

  /** A node that is running (not stalled, not killed), to ask about the cluster. */
  private liveNode(): number {
    const node = this.nodes.find((candidate) => !this.stalled.has(candidate.port) && candidate.server.pid !== undefined && isRunning(candidate.server.pid));
    if (!node) throw new Error('no live node to ask');
    return node.port;
  }

  /** Slot ranges and the master port serving each, as a live node sees them (CLUSTER SLOTS). */
  async slotMap(askPort = this.liveNode()): Promise<Array<{ from: number; to: number; master: number; replicas: number[] }>> {
    return this.onNode(askPort, async (redis) => {
      const ranges = (await redis.call('CLUSTER', 'SLOTS')) as Array<[number, number, ...Array<[string, number]>]>;
      return ranges.map(([from, to, master, ...replicas]) => ({
        from,
        to,
        master: Number(master[1]),
        replicas: replicas.map((replica) => Number(replica[1])),
      }));
    });
  }

  /** The port of the master serving `key`'s slot (CLUSTER KEYSLOT, then CLUSTER SLOTS), as a live node sees it. */
  async masterOf(key: string, askPort = this.liveNode()): Promise<number> {
    const slot = await this.onNode(askPort, async (redis) => Number(await redis.call('CLUSTER', 'KEYSLOT', key)));
    const range = (await this.slotMap(askPort)).find(({ from, to }) => slot >= from && slot <= to);
    if (!range) throw new Error(`slot ${slot} is not served`);
    return range.master;
  }

  /** Ports of the nodes that serve slots as masters now. */
  async masters(): Promise<number[]> {
    return [...new Set((await this.slotMap()).map((range) => range.master))];
  }

  /**
   * Freezes one node's process (SIGSTOP) for `ms`, then lets it go on (SIGCONT). Answers at once with
   * a promise that settles once the node runs again. Its sockets stay open: clients' commands wait.
   */
  stall(port: number, ms: number): { resumed: Promise<void> } {
    const pid = this.node(port).server.pid;
    if (pid === undefined) throw new Error(`node ${port} is not running`);
    process.kill(pid, 'SIGSTOP');
    this.stalled.add(port);
    const resumed = delay(ms).then(() => this.resume(port));
    return { resumed };
  }

  /** Lets a stalled node go on at once (SIGCONT). Idempotent. */
  resume(port: number): void {
    if (!this.stalled.delete(port)) return;
    const pid = this.node(port).server.pid;
    if (pid !== undefined) {
      try {
        process.kill(pid, 'SIGCONT');
      } catch {
        // gone already
      }
    }
  }

  /**
   * Waits until the slots `oldMaster` served are served by another node (its replica was promoted),
   * as the live nodes see it; answers the new master's port.
   */
  async waitForFailover(oldMaster: number, timeoutMs = 20_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const map = await this.slotMap().catch(() => []);
      // The new master is a node that did not serve slots before: the promoted replica.
      const newMaster = map.find((range) => !this.knownMasters.has(range.master))?.master;
      if (map.length > 0 && !map.some((range) => range.master === oldMaster) && newMaster !== undefined) {
        this.knownMasters = new Set(map.map((range) => range.master));
        return newMaster;
      }
      if (Date.now() > deadline) throw new Error(`no failover of ${oldMaster} within ${timeoutMs} ms: ${JSON.stringify(map)}`);
      await delay(100);
    }
  }

  /** Masters as last seen by start() or waitForFailover(). */
  private knownMasters = new Set<number>();

  /** SIGKILLs one node's process. */
  async killNode(port: number): Promise<void> {
    this.stalled.delete(port);
    await this.node(port).server.stop({ hard: true });
  }

  /** Starts a killed node again on its port and folder; it rejoins (its data is gone: no persistence). */
  async restartNode(port: number): Promise<void> {
    await this.node(port).server.start();
    await this.waitForClusterOk();
  }

  /** Waits until every node says cluster_state:ok and, with replicas, every replica's link is up. */
  async waitForClusterOk(context = ''): Promise<void> {
    let states: string[] = [];
    for (let waited = 0; waited < 30_000; waited += 100) {
      states = await Promise.all(
        this.nodes.map((node) =>
          this.onNode(node.port, async (redis) => `${String(await redis.call('CLUSTER', 'INFO'))}\n${await redis.info('replication')}`).catch(
            () => 'unreachable',
          ),
        ),
      );
      const clusterOk = states.every((info) => info.includes('cluster_state:ok'));
      const replicasUp = states.every((info) => !info.includes('role:slave') || info.includes('master_link_status:up'));
      if (clusterOk && replicasUp) return;
      await delay(100);
    }
    throw new Error(`the cluster did not reach cluster_state:ok:\n${context}\n${states.join('\n')}`);
  }

  async close(): Promise<void> {
    await Promise.all(this.nodes.map((node) => node.server.stop({ hard: true })));
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  private node(port: number): ClusterNode {
    const node = this.nodes.find((candidate) => candidate.port === port);
    if (!node) throw new Error(`no node on port ${port}`);
    return node;
  }

  private async create(): Promise<void> {
    const addresses = this.nodes.map((node) => `127.0.0.1:${node.port}`);
    const replicas = String(this.options.replicasPerMaster ?? 0);
    const output = await new Promise<string>((resolve, reject) => {
      const child = spawn('redis-cli', ['--cluster', 'create', ...addresses, '--cluster-replicas', replicas, '--cluster-yes'], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let text = '';
      child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (text += chunk.toString()));
      child.on('error', reject);
      child.on('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`redis-cli --cluster create failed (${code}):\n${text}`))));
    });
    await this.waitForClusterOk(output);
    this.knownMasters = new Set(await timeLimit(this.masters(), 5_000, []));
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
