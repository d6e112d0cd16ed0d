/**
 * Question: what does chunkmill cost in memory — per worker process, idle and under load, and in Redis
 * per queued item?
 *
 * 1. Redis bytes per queued item: `used_memory` (INFO memory) of a private redis-server before and after
 *    a POST of ITEMS `sumSquares` items with no worker running, next to raw BullMQ `addBulk` of one job
 *    per item on the same server.
 * 2. RSS (VmRSS in /proc) of a worker host of N processes × 1 thread: the primary and each worker
 *    process idle, then the peak while it runs a CPU workload and while it runs a 16 M-element array
 *    multiply; next to a bare `node` process that does nothing (the floor of any Node process here).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { type BenchRow, isQuick, median, publish, runBench, verdict } from './lib/bench-report';
import { privateRedis, runWorkload, startStack } from './lib/chunkmill-stack';

const quick = isQuick();
const ITEMS = quick ? 2_000 : 100_000;
const ELEMENTS = quick ? 100_000 : 16_000_000;
const cores = os.availableParallelism();
const MiB = 1024 * 1024;
const SAMPLE_MS = 50;

function rssBytes(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
  return Number(kib ?? 0) * 1024;
}

function childPids(pid: number): number[] {
  return fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
}

async function usedMemory(redis: Redis): Promise<number> {
  const info = await redis.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)?.[1]);
}

/** Runs `work` while sampling the peak RSS of each pid. */
async function peakRss(pids: number[], work: () => Promise<unknown>): Promise<number[]> {
  const peaks = pids.map(rssBytes);
  let running = true;
  const sampler = (async () => {
    while (running) {
      pids.forEach((pid, i) => (peaks[i] = Math.max(peaks[i], rssBytes(pid))));
      await delay(SAMPLE_MS);
    }
  })();
  try {
    await work();
  } finally {
    running = false;
    await sampler;
  }
  return peaks;
}

async function redisPerItem(redisUrl: string): Promise<{ chunkmill: number; rawPerItem: number }> {
  const redis = new Redis(redisUrl);
  const stack = await startStack(redisUrl, { workerProcesses: 0, workerThreads: 1 });
  try {
    const body = JSON.stringify({ type: 'compute', task: 'sumSquares', inputs: new Array(ITEMS).fill(2000) });
    let before = await usedMemory(redis);
    const answer = await fetch(`${stack.baseUrl}/v1/workloads`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    if (answer.status !== 202) throw new Error(`submit answered ${answer.status}`);
    const chunkmill = ((await usedMemory(redis)) - before) / ITEMS;

    const queue = new Queue('raw', { connection: redis, prefix: `cmbench-mem-${randomBytes(4).toString('hex')}` });
    before = await usedMemory(redis);
    for (let offset = 0; offset < ITEMS; offset += 1000) {
      await queue.addBulk(
        Array.from({ length: Math.min(1000, ITEMS - offset) }, (_, i) => ({
          name: 'compute',
          data: { input: 2000 },
          opts: { jobId: `item-${offset + i}`, attempts: 3, priority: 50, removeOnComplete: true },
        })),
      );
    }
    const rawPerItem = ((await usedMemory(redis)) - before) / ITEMS;
    await queue.close();
    return { chunkmill, rawPerItem };
  } finally {
    await stack.stop();
    redis.disconnect();
  }
}

async function bareNodeRss(): Promise<number> {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  await delay(1000);
  const rss = rssBytes(child.pid!);
  child.kill('SIGKILL');
  return rss;
}

async function main(): Promise<void> {
  const redis = await privateRedis();
  const rows: BenchRow[] = [];
  try {
    const perItem = await redisPerItem(redis.url);
    rows.push(
      {
        name: `Redis per queued item: chunkmill POST of ${ITEMS} items`,
        bytes: perItem.chunkmill,
        MiB: null,
        vsBaseline: perItem.chunkmill / perItem.rawPerItem,
      },
      { name: 'Redis per queued item: raw BullMQ addBulk, one job per item (baseline)', bytes: perItem.rawPerItem, MiB: null, vsBaseline: 1 },
    );

    const bare = await bareNodeRss();
    const stack = await startStack(redis.url, { workerProcesses: cores, workerThreads: 1 });
    try {
      await delay(2000); // settle after start-up
      const workers = childPids(stack.workerPid!);
      const idle = workers.map(rssBytes);
      const cpu = await peakRss(workers, () =>
        runWorkload(stack.baseUrl, { type: 'compute', task: 'sumSquares', inputs: new Array(cores * 8).fill(quick ? 100_000 : 20_000_000), chunkSize: 1 }),
      );
      const x = Buffer.from(Float64Array.from({ length: ELEMENTS }, (_, i) => i * 0.5).buffer);
      for (const name of ['x', 'y']) {
        const put = await fetch(`${stack.baseUrl}/v1/arrays/${name}`, { method: 'PUT', headers: { 'content-type': 'application/octet-stream' }, body: x });
        if (put.status !== 200) throw new Error(`PUT answered ${put.status}`);
      }
      const arrays = await peakRss(workers, () => runWorkload(stack.baseUrl, { type: 'compute', task: 'mulArrays', arrays: { x: 'x', y: 'y', out: 'z' } }));
      const row = (name: string, bytes: number): BenchRow => ({ name, bytes, MiB: bytes / MiB, vsBaseline: bytes / bare });
      rows.push(
        row('bare node process, idle (baseline)', bare),
        row('producer process, after the runs', rssBytes(stack.producerPid)),
        row('worker host primary (cluster supervisor)', rssBytes(stack.workerPid!)),
        row('worker process, idle (median)', median(idle)),
        row('worker process, peak under a CPU workload (median of processes)', median(cpu)),
        row(`worker process, peak under a ${ELEMENTS.toLocaleString('en')}-element mulArrays (median of processes)`, median(arrays)),
      );
      publish({
        bench: 'memory',
        question: 'RSS of a worker process idle and under load; Redis memory per queued item',
        rows,
        verdicts: [
          verdict('Redis bytes per queued item, chunkmill ÷ raw BullMQ one job per item', perItem.chunkmill / perItem.rawPerItem, 1, false),
          verdict('idle worker process RSS ÷ bare node process RSS', median(idle) / bare, 3, false),
        ],
        parameters: { items: ITEMS, arrayElements: ELEMENTS, workerProcesses: cores, workerThreads: 1, sampleMs: SAMPLE_MS },
      });
    } finally {
      await stack.stop();
    }
  } finally {
    await redis.stop();
  }
}

runBench(main);
