/**
 * Question: what does chunkmill cost per job, next to raw BullMQ on the same Redis?
 *
 * 1. Raw BullMQ: one process, a Queue and a Worker whose processor returns at once; N jobs added in
 *    bulk, timed until the last one completed (jobs/s). Measured twice: holding as many jobs at once as
 *    the chunkmill worker host below, and at concurrency 50 (raw BullMQ at its best).
 * 2. chunkmill, one item per chunk: N no-op items (`sumSquares(0)`) with chunkSize 1 through the default
 *    worker host (one process per core, one thread each), timed from POST to results (jobs/s).
 *    Target: ≥ 0.8 × raw BullMQ holding the same number of jobs at once.
 * 3. chunkmill with batching: many no-op items, chunkSize 1000 (items/s). Target: ≥ 20 × raw BullMQ's
 *    jobs/s at concurrency 50, because a chunk pays the per-job cost once for all its items; the row
 *    also says how far that is from 500,000 items/s.
 *
 * Fair by construction: both are timed from the first enqueue to the last completion (raw: addBulk to
 * the last `completed` event; chunkmill: POST to the results answer), on the same Redis. The raw
 * processor runs in its own event loop while chunkmill hands each item to a thread and records it
 * exactly once: that is the cost measured. `--processes N` and `--concurrency N` change the host.
 */
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { unlinkKeysWithPrefix } from '../src/core/redis-connection';
import { isQuick, median, publish, runBench, verdict } from './lib/bench-report';
import { benchRedis, runWorkload, startStack } from './lib/chunkmill-stack';

const quick = isQuick();
const JOBS = quick ? 200 : 3000;
const TINY_ITEMS = quick ? 5000 : 300_000;
const REPEATS = quick ? 1 : 3;
const wholeArgument = (name: string, fallback: number): number => {
  const value = process.argv.includes(name) ? Number(process.argv[process.argv.indexOf(name) + 1]) : fallback;
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} wants a whole number ≥ 1`);
  return value;
};
/** The chunkmill worker host: processes, and chunks each holds at once (the defaults on this machine). */
const PROCESSES = wholeArgument('--processes', os.availableParallelism());
const CONCURRENCY = wholeArgument('--concurrency', 1);
/** Jobs held at once, by the raw Worker and by chunkmill's worker host alike. */
const IN_FLIGHT = PROCESSES * CONCURRENCY;
/** Raw BullMQ at its best on this machine. */
const BEST_RAW_CONCURRENCY = 50;

async function rawBullmqJobsPerSecond(redisUrl: string, concurrency: number): Promise<number> {
  const prefix = `cmbench-raw-${randomBytes(4).toString('hex')}`;
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue('raw', { connection, prefix });
  let done = 0;
  let finished!: () => void;
  const allDone = new Promise<void>((resolve) => (finished = resolve));
  const worker = new Worker('raw', async () => 0, { connection, prefix, concurrency, autorun: false });
  worker.on('completed', () => {
    if (++done === JOBS) finished();
  });
  await worker.waitUntilReady();
  const started = performance.now();
  for (let offset = 0; offset < JOBS; offset += 1000) {
    await queue.addBulk(
      Array.from({ length: Math.min(1000, JOBS - offset) }, (_, i) => ({ name: 'noop', data: { i: offset + i }, opts: { removeOnComplete: true } })),
    );
  }
  void worker.run();
  await allDone;
  const seconds = (performance.now() - started) / 1000;
  await worker.close();
  await queue.close();
  await unlinkKeysWithPrefix(connection, prefix);
  connection.disconnect();
  return JOBS / seconds;
}

async function main(): Promise<void> {
  const redis = await benchRedis();
  const stack = await startStack(redis.url, { workerProcesses: PROCESSES, workerThreads: 1, env: { WORKER_CONCURRENCY: String(CONCURRENCY) } });
  const raw: number[] = [];
  const rawBest: number[] = [];
  const perChunk: number[] = [];
  const batched: number[] = [];
  try {
    await runWorkload(stack.baseUrl, { type: 'compute', task: 'sumSquares', inputs: new Array(100).fill(0), chunkSize: 1 }); // warm-up
    for (let run = 0; run < REPEATS; run++) {
      raw.push(await rawBullmqJobsPerSecond(redis.url, IN_FLIGHT));
      const single = await runWorkload(stack.baseUrl, { type: 'compute', task: 'sumSquares', inputs: new Array(JOBS).fill(0), chunkSize: 1 });
      perChunk.push(JOBS / (single.wallMs / 1000));
      rawBest.push(await rawBullmqJobsPerSecond(redis.url, BEST_RAW_CONCURRENCY));
      const tiny = await runWorkload(stack.baseUrl, { type: 'compute', task: 'sumSquares', inputs: new Array(TINY_ITEMS).fill(0), chunkSize: 1000 });
      batched.push(TINY_ITEMS / (tiny.wallMs / 1000));
    }
  } finally {
    await stack.stop();
    await redis.stop();
  }
  const rawRate = median(raw);
  const rawBestRate = median(rawBest);
  const chunkRate = median(perChunk);
  const itemRate = median(batched);
  publish({
    bench: 'job-overhead',
    question: 'no-op jobs through chunkmill vs a raw BullMQ worker, same Redis',
    rows: [
      { name: `raw BullMQ worker (concurrency ${IN_FLIGHT})`, perSecond: rawRate, unit: 'jobs/s', ratioToRaw: 1 },
      {
        name: `chunkmill, chunkSize 1 (${PROCESSES} processes × 1 thread, ${CONCURRENCY} chunk each)`,
        perSecond: chunkRate,
        unit: 'jobs/s',
        ratioToRaw: chunkRate / rawRate,
      },
      { name: `raw BullMQ worker (concurrency ${BEST_RAW_CONCURRENCY})`, perSecond: rawBestRate, unit: 'jobs/s', ratioToRaw: rawBestRate / rawRate },
      { name: 'chunkmill, chunkSize 1000, no-op items', perSecond: itemRate, unit: 'items/s', ratioToRaw: itemRate / rawRate },
    ],
    verdicts: [
      verdict(`chunkmill one-item chunks vs raw BullMQ at concurrency ${IN_FLIGHT} (jobs/s ratio)`, chunkRate / rawRate, 0.8),
      verdict(`chunkmill no-op items/s at chunkSize 1000 vs raw BullMQ jobs/s at concurrency ${BEST_RAW_CONCURRENCY}`, itemRate / rawBestRate, 20),
      `no-op items/s at chunkSize 1000: ${Math.round(itemRate)}, ${((itemRate / 500_000) * 100).toFixed(0)}% of 500,000`,
    ],
    parameters: { jobs: JOBS, tinyItems: TINY_ITEMS, repeats: REPEATS, processes: PROCESSES, concurrency: CONCURRENCY },
  });
}

runBench(main);
