/**
 * A throwaway Redis Cluster on loopback for one test: `masters` × `redis-server --cluster-enabled yes`
 * on free ports, each with its own data folder under one temp dir, joined by
 * `redis-cli --cluster create ... --cluster-replicas 0`. No replicas and no persistence: a master that
 * is killed takes its slots' data with it (what the cluster test shows). `close()` kills every server
 * and removes the folder, whatever state the test left.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { RedisServer, freePort } from '../../src/core/redis-server';

export interface LocalRedisClusterOptions {
  /** @defaultValue 3 */
  masters?: number;
  /** Extra `redis-server` arguments for every node, e.g. ['--cluster-require-full-coverage', 'no']. */
  args?: string[];
}

/** One master: its port, the slot ranges it serves, and the server process. */
export interface ClusterNode {
  port: number;
  server: RedisServer;
}

export function redisClusterToolsInstalled(): boolean {
  return spawnSync('redis-cli', ['--version'], { stdio: 'ignore' }).status === 0;
}

export class LocalRedisCluster {
  private constructor(
    readonly nodes: ClusterNode[],
    readonly dir: string,
  ) {}

  static async start(name: string, options: LocalRedisClusterOptions = {}): Promise<LocalRedisCluster> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `chunkmill-cluster-${name}-`));
    const nodes: ClusterNode[] = [];
    const cluster = new LocalRedisCluster(nodes, dir);
    try {
      for (let i = 0; i < (options.masters ?? 3); i++) {
        const port = await freePort();
        const nodeDir = path.join(dir, `node-${port}`);
        const server = new RedisServer({
          port,
          dir: nodeDir,
          args: [
            '--cluster-enabled', 'yes',
            '--cluster-config-file', path.join(nodeDir, `nodes-${port}.conf`),
            '--cluster-node-timeout', '2000',
            '--appendonly', 'no',
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
    const redis = new Redis(port, '127.0.0.1', { maxRetriesPerRequest: 1, lazyConnect: false });
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

  /** The port of the master serving `key`'s slot (CLUSTER KEYSLOT, then CLUSTER SLOTS). */
  async masterOf(key: string, askPort = this.nodes[0].port): Promise<number> {
    return this.onNode(askPort, async (redis) => {
      const slot = Number(await redis.call('CLUSTER', 'KEYSLOT', key));
      const ranges = (await redis.call('CLUSTER', 'SLOTS')) as Array<[number, number, [string, number]]>;
      const range = ranges.find(([from, to]) => slot >= from && slot <= to);
      if (!range) throw new Error(`slot ${slot} is not served`);
      return Number(range[2][1]);
    });
  }

  /** SIGKILLs one master's process (no failover: there are no replicas). */
  async killNode(port: number): Promise<void> {
    const node = this.nodes.find((candidate) => candidate.port === port);
    if (!node) throw new Error(`no node on port ${port}`);
    await node.server.stop({ hard: true });
  }

  /** Starts a killed master again on its port and folder; it rejoins with its slots (its data is gone: no persistence). */
  async restartNode(port: number): Promise<void> {
    const node = this.nodes.find((candidate) => candidate.port === port);
    if (!node) throw new Error(`no node on port ${port}`);
    await node.server.start();
    await this.waitForClusterOk();
  }

  async close(): Promise<void> {
    await Promise.all(this.nodes.map((node) => node.server.stop({ hard: true })));
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  private async create(): Promise<void> {
    const addresses = this.nodes.map((node) => `127.0.0.1:${node.port}`);
    const output = await new Promise<string>((resolve, reject) => {
      const child = spawn('redis-cli', ['--cluster', 'create', ...addresses, '--cluster-replicas', '0', '--cluster-yes'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let text = '';
      child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (text += chunk.toString()));
      child.on('error', reject);
      child.on('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`redis-cli --cluster create failed (${code}):\n${text}`))));
    });
    await this.waitForClusterOk(output);
  }

  private async waitForClusterOk(context = ''): Promise<void> {
    let states: string[] = [];
    for (let waited = 0; waited < 20_000; waited += 100) {
      states = await Promise.all(
        this.nodes.map((node) => this.onNode(node.port, async (redis) => String(await redis.call('CLUSTER', 'INFO'))).catch(() => 'unreachable')),
      );
      if (states.every((info) => info.includes('cluster_state:ok'))) return;
      await delay(100);
    }
    throw new Error(`the cluster did not reach cluster_state:ok:\n${context}\n${states.join('\n')}`);
  }
}
