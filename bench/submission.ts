/**
 * Question: how fast does `POST /v1/workloads` take a large workload in, next to raw BullMQ?
 *
 * ITEMS `sumSquares` inputs, no worker running (only the enqueueing is timed):
 *   1. chunkmill: one POST of every item (body built beforehand), timed until the 202;
 *   2. raw BullMQ `addBulk` of the same chunk jobs chunkmill builds (same data, ids and options), in
 *      batches of 1000 jobs — the floor for what chunkmill writes;
 *   3. raw BullMQ `addBulk` of one job per item, in batches of 1000 — what a BullMQ user would write.
 * items/s = ITEMS / time. The producer runs as its own process, on a private redis-server, warmed up
 * by full-size submissions first (a producer is a long-running server).
 */
import { randomBytes } from 'node:crypto';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { defaultChunkSize, planChunks } from '../src/core/chunk-planner';
import { type BenchRow, isQuick, median, publish, runBench, verdict } from './lib/bench-report';
import { privateRedis, startStack } from './lib/chunkmill-stack';

const quick = isQuick();
const ITEMS = quick ? 2_000 : 100_000;
const REPEATS = quick ? 1 : 5;
/** Full-size submissions before the timed ones: a producer is a long-running server, its code is warm. */
const WARM_UPS = quick ? 1 : 3;
const BATCH = 1000;
const N = 2000;

async function chunkmillSubmitMs(baseUrl: string, body: string): Promise<number> {
  const started = performance.now();
  const answer = await fetch(`${baseUrl}/v1/workloads`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  await answer.arrayBuffer();
  const elapsed = performance.now() - started;
  if (answer.status !== 202) throw new Error(`submit answered ${answer.status}`);
  return elapsed;
}

type Job = { name: string; data: unknown; opts: Record<string, unknown> };

async function addBulkMs(queue: Queue, jobs: Job[]): Promise<number> {
  const started = performance.now();
  for (let offset = 0; offset < jobs.length; offset += BATCH) await queue.addBulk(jobs.slice(offset, offset + BATCH) as never);
  return performance.now() - started;
}

async function main(): Promise<void> {
  const inputs = new Array<number>(ITEMS).fill(N);
  const body = JSON.stringify({ type: 'compute', task: 'sumSquares', inputs });
  const chunkSize = defaultChunkSize(ITEMS);
  // The options chunkmill gives its chunk jobs (workload-service.ts), so the baseline writes the same.
  const options = (jobId: string) => ({
    jobId,
    attempts: 3,
    backoff: { type: 'exponential', delay: 1000 },
    priority: 50,
    removeOnComplete: true,
    removeOnFail: { age: 86400 },
  });
  const redis = await privateRedis();
  // A stack that fails to start must not leave the private redis-server behind.
  const stack = await startStack(redis.url, { workerProcesses: 0, workerThreads: 1 }).catch(async (error: unknown) => {
    await redis.stop();
    throw error;
  });
  const connection = new Redis(redis.url, { maxRetriesPerRequest: null });
  const raw = new Queue('raw', { connection, prefix: `cmbench-sub-${randomBytes(4).toString('hex')}` });
  const ours: number[] = [];
  const sameChunks: number[] = [];
  const perItem: number[] = [];
  try {
    for (let warm = 0; warm < WARM_UPS; warm++) await chunkmillSubmitMs(stack.baseUrl, body);
    for (let run = 0; run < REPEATS; run++) {
      ours.push(await chunkmillSubmitMs(stack.baseUrl, body));
      const id = randomBytes(8).toString('hex');
      const chunkJobs = planChunks(ITEMS, chunkSize).map((chunk) => ({
        name: 'compute',
        data: {
          workloadId: id,
          type: 'compute',
          chunkIndex: chunk.chunkIndex,
          start: chunk.start,
          task: 'sumSquares',
          inputs: inputs.slice(chunk.start, chunk.end),
        },
        opts: options(`${id}-${chunk.chunkIndex}`),
      }));
      sameChunks.push(await addBulkMs(raw, chunkJobs));
      const itemJobs = inputs.map((input, index) => ({ name: 'compute', data: { input }, opts: options(`${id}-item-${index}`) }));
      perItem.push(await addBulkMs(raw, itemJobs));
    }
  } finally {
    await raw.close();
    connection.disconnect();
    await stack.stop();
    await redis.stop();
  }
  const row = (name: string, ms: number, jobs: number): BenchRow => ({
    name,
    msToAccepted: ms,
    itemsPerSecond: ITEMS / (ms / 1000),
    jobs,
    vsChunkmill: median(ours) / ms,
  });
  const rows = [
    row(`chunkmill POST /v1/workloads → 202 (${ITEMS} items)`, median(ours), Math.ceil(ITEMS / chunkSize)),
    row(`raw BullMQ addBulk, the same ${Math.ceil(ITEMS / chunkSize)} chunk jobs`, median(sameChunks), Math.ceil(ITEMS / chunkSize)),
    row(`raw BullMQ addBulk, one job per item`, median(perItem), ITEMS),
  ];
  publish({
    bench: 'submission',
    question: `POST of ${ITEMS.toLocaleString('en')} items: time to 202 and items/s enqueued, next to raw BullMQ addBulk`,
    rows,
    // The same chunk jobs through raw addBulk are a floor, not a peer: chunkmill adds HTTP, JSON and
    // validating every input to them (vsChunkmill shows what that costs).
    verdicts: [verdict('chunkmill items/s ÷ raw addBulk (one job per item) items/s', median(perItem) / median(ours), 1)],
    parameters: { items: ITEMS, repeats: REPEATS, warmUps: WARM_UPS, chunkSize, addBulkBatch: BATCH, input: N },
  });
}

runBench(main);
