/**
 * Question: how long does a one-item workload take from submit to result, next to raw BullMQ?
 *
 * 1. chunkmill: POST a one-item workload (`sumSquares(2000)`), then `GET …/results?wait=` (long-poll,
 *    woken by pub/sub), one after another; p50 and p99 of submit → result.
 * 2. Raw BullMQ on the same Redis, one process: `queue.add` → the worker's `completed` event for that
 *    job, with a no-op processor.
 * Issue 9's target: chunkmill's median ≤ 10 ms on loopback.
 */
import { randomBytes } from 'node:crypto';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { unlinkKeysWithPrefix } from '../src/core/redis-connection';
import { isQuick, median, percentile, publish, runBench, verdict } from './lib/bench-report';
import { benchRedis, runWorkload, startStack } from './lib/chunkmill-stack';

const SAMPLES = isQuick() ? 20 : 300;

async function rawBullmqLatenciesMs(redisUrl: string): Promise<number[]> {
  const prefix = `cmbench-lat-${randomBytes(4).toString('hex')}`;
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue('lat', { connection, prefix });
  const worker = new Worker('lat', async () => 0, { connection, prefix });
  await worker.waitUntilReady();
  // Waiters are registered by job id before the add, so a completion can never be missed. (The worker's
  // own event, not QueueEvents': a QueueEvents reader may start after the first completion under load.)
  const waiting = new Map<string, () => void>();
  worker.on('completed', (job) => waiting.get(job.id!)?.());
  const latencies: number[] = [];
  try {
    for (let i = 0; i < SAMPLES; i++) {
      const jobId = `lat-${i}`;
      const completed = new Promise<void>((resolve) => waiting.set(jobId, resolve));
      const started = performance.now();
      await queue.add('noop', { i }, { jobId, removeOnComplete: true });
      await completed;
      latencies.push(performance.now() - started);
      waiting.delete(jobId);
    }
  } finally {
    await worker.close();
    await queue.close();
    await unlinkKeysWithPrefix(connection, prefix);
    connection.disconnect();
  }
  return latencies;
}

async function main(): Promise<void> {
  const redis = await benchRedis();
  const stack = await startStack(redis.url, { workerProcesses: 1, workerThreads: 1 });
  const ours: number[] = [];
  let raw: number[] = [];
  try {
    const workload = { type: 'compute', task: 'sumSquares', inputs: [2000] };
    for (let i = 0; i < 10; i++) await runWorkload(stack.baseUrl, workload); // warm-up
    for (let i = 0; i < SAMPLES; i++) ours.push((await runWorkload(stack.baseUrl, workload)).wallMs);
    raw = await rawBullmqLatenciesMs(redis.url);
  } finally {
    await stack.stop();
    await redis.stop();
  }
  publish({
    bench: 'small-latency',
    question: 'a one-item workload, submit → result, next to raw BullMQ add → completed on the same Redis',
    rows: [
      { name: 'raw BullMQ: add → completed (worker event)', p50Ms: median(raw), p99Ms: percentile(raw, 99) },
      { name: 'chunkmill: POST → results?wait (1 worker process)', p50Ms: median(ours), p99Ms: percentile(ours, 99) },
    ],
    verdicts: [verdict('chunkmill median submit → result (ms)', median(ours), 10, false)],
    parameters: { samples: SAMPLES },
  });
}

runBench(main);
