/**
 * A running chunkmill for a benchmark: the producer and a worker host as real processes from dist/,
 * against the Redis the tests would use (REDIS_URL, else 127.0.0.1:6379, else a redis-server started
 * here), under a fresh key prefix that is deleted afterwards.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import fs from 'node:fs';
import { Redis } from 'ioredis';
import { unlinkKeysWithPrefix } from '../../src/core/redis-connection';
import { DEFAULT_REDIS_URL, RedisServer, freePort, redisAnswers } from '../../src/core/redis-server';

const ROOT = path.resolve(__dirname, '../../..');

export interface StackOptions {
  /** Worker processes of the worker host; 0 starts no worker host (the producer alone). */
  workerProcesses: number;
  workerThreads: number;
  /** Extra environment for both roles. */
  env?: Record<string, string>;
}

export interface ChunkmillStack {
  baseUrl: string;
  redisUrl: string;
  prefix: string;
  /** The producer's process id. */
  producerPid: number;
  /** The worker host's (cluster primary's) process id; its children are the worker processes. */
  workerPid?: number;
  stop(): Promise<void>;
}

/** Finds a Redis to run against: REDIS_URL, the local default, or a private redis-server. */
export async function benchRedis(): Promise<{ url: string; stop(): Promise<void> }> {
  if (process.env.REDIS_URL) return { url: process.env.REDIS_URL, stop: async () => undefined };
  if (await redisAnswers('127.0.0.1', 6379)) return { url: DEFAULT_REDIS_URL, stop: async () => undefined };
  return privateRedis();
}

/**
 * A redis-server of the benchmark's own, in a temporary folder, without persistence (so that disk
 * writes do not time the disk): for benchmarks that store hundreds of MB, or read Redis's own memory
 * figures, which another user of a shared Redis would blur.
 */
export async function privateRedis(): Promise<{ url: string; stop(): Promise<void> }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chunkmill-bench-redis-'));
  const server = new RedisServer({ port: await freePort(), dir, args: ['--appendonly', 'no'] });
  await server.start();
  return {
    url: server.url,
    stop: async () => {
      await server.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

function startRole(
  role: 'producer' | 'worker',
  env: NodeJS.ProcessEnv,
  readyMessage: string,
  readyCount: number,
): Promise<{ child: ChildProcess; port?: number }> {
  const child = spawn(process.execPath, [path.join(ROOT, 'dist/src', role, 'main.js')], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let seen = 0;
    let pending = '';
    child.once('exit', (code) => reject(new Error(`${role} exited with code ${code} before it was ready`)));
    child.stdout!.on('data', (chunk: Buffer) => {
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        if (!line.includes(readyMessage)) continue;
        seen++;
        if (seen === readyCount) resolve({ child, port: (JSON.parse(line) as { port?: number }).port });
      }
    });
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  await exited;
  clearTimeout(timer);
}

export async function startStack(redisUrl: string, options: StackOptions): Promise<ChunkmillStack> {
  const prefix = `cmbench-${randomBytes(4).toString('hex')}`;
  const env = {
    ...process.env,
    REDIS_URL: redisUrl,
    CHUNKMILL_PREFIX: prefix,
    LOG_LEVEL: 'info',
    PORT: '0',
    HOST: '127.0.0.1',
    WORKER_METRICS_PORT: '0',
    WORKER_PROCESSES: String(Math.max(1, options.workerProcesses)),
    WORKER_THREADS: String(options.workerThreads),
    ...options.env,
  };
  const producer = await startRole('producer', env, 'producer listening', 1);
  const worker = options.workerProcesses > 0 ? await startRole('worker', env, 'worker process ready', options.workerProcesses) : undefined;
  return {
    baseUrl: `http://127.0.0.1:${producer.port}`,
    redisUrl,
    prefix,
    producerPid: producer.child.pid!,
    workerPid: worker?.child.pid,
    async stop() {
      if (worker) await stopChild(worker.child);
      await stopChild(producer.child);
      const redis = new Redis(redisUrl);
      await unlinkKeysWithPrefix(redis, prefix);
      redis.disconnect();
    },
  };
}

/** Submits a workload and long-polls its results; answers the results body and the wall time in ms. */
export async function runWorkload(baseUrl: string, workload: Record<string, unknown>): Promise<{ body: any; wallMs: number }> {
  const started = performance.now();
  const submitted = await fetch(`${baseUrl}/v1/workloads`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(workload),
  });
  if (submitted.status !== 202) throw new Error(`submit answered ${submitted.status}: ${await submitted.text()}`);
  const { id } = (await submitted.json()) as { id: string };
  for (;;) {
    const answer = await fetch(`${baseUrl}/v1/workloads/${id}/results?wait=60000`);
    const body = (await answer.json()) as { status: string };
    if (['completed', 'failed', 'cancelled'].includes(body.status)) return { body, wallMs: performance.now() - started };
  }
}
