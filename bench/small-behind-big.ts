/**
 * Question: how long does a small workload wait when a big one was submitted just before it?
 *
 * One worker host (2 processes × 1 thread). A big workload of short `sleep` items (1 ms each, chunks
 * of 100) is submitted; once it runs, a 10-item workload follows, several times while the big one is
 * still running. Rows:
 * 1. the small workload alone (same stack, idle): the same-run baseline;
 * 2. the small workload behind the big one, with chunkmill's window (CHUNKS_IN_QUEUE_PER_WORKLOAD = 8):
 *    it should wait for a window of the big one's chunks, not for the big one;
 * 3. the same with the window opened wide (every chunk enqueued at submit, as a FIFO queue such as
 *    plain BullMQ does it): the first small one waits for the whole backlog (`firstMs`).
 * Shares are per chunk: the small workload's 1-item chunks alternate with the big one's 100-item chunks,
 * so it waits about a window of the big one's chunks, plus its own chunks' turns.
 * Issue 9's target: the small one's wait depends on its own size and the active workloads, not on the
 * backlog ahead of it (row 2 within a small multiple of row 1, far below the big one's duration).
 */
import { isQuick, median, publish, round, runBench, verdict } from './lib/bench-report';
import { benchRedis, runWorkload, startStack } from './lib/chunkmill-stack';

const BIG_ITEMS = isQuick() ? 2_000 : 20_000;
const SMALL_RUNS = isQuick() ? 2 : 5;
const small = { type: 'compute', task: 'sleep', inputs: new Array(10).fill({ ms: 1 }) };
const big = { type: 'compute', task: 'sleep', inputs: new Array(BIG_ITEMS).fill({ ms: 1 }), chunkSize: 100 };

async function submit(baseUrl: string, workload: Record<string, unknown>): Promise<string> {
  const answer = await fetch(`${baseUrl}/v1/workloads`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(workload) });
  if (answer.status !== 202) throw new Error(`submit answered ${answer.status}: ${await answer.text()}`);
  return ((await answer.json()) as { id: string }).id;
}

async function status(baseUrl: string, id: string): Promise<{ status: string; completed: number }> {
  return (await (await fetch(`${baseUrl}/v1/workloads/${id}`)).json()) as { status: string; completed: number };
}

/** Small workloads behind one big one: each small one's submit → result, and the big one's duration. */
async function behindBig(redisUrl: string, windowChunks: number): Promise<{ alone: number[]; behind: number[]; bigMs: number; bigRunningAfter: boolean }> {
  const stack = await startStack(redisUrl, { workerProcesses: 2, workerThreads: 1, env: { CHUNKS_IN_QUEUE_PER_WORKLOAD: String(windowChunks) } });
  try {
    const alone: number[] = [];
    for (let i = 0; i < 2; i++) await runWorkload(stack.baseUrl, small); // warm-up
    for (let i = 0; i < SMALL_RUNS; i++) alone.push((await runWorkload(stack.baseUrl, small)).wallMs);

    const bigStarted = performance.now();
    const bigId = await submit(stack.baseUrl, big);
    while ((await status(stack.baseUrl, bigId)).completed === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    const behind: number[] = [];
    for (let i = 0; i < SMALL_RUNS; i++) behind.push((await runWorkload(stack.baseUrl, small)).wallMs);
    const bigRunningAfter = (await status(stack.baseUrl, bigId)).status === 'running';
    await fetch(`${stack.baseUrl}/v1/workloads/${bigId}/results?wait=300000`);
    return { alone, behind, bigMs: performance.now() - bigStarted, bigRunningAfter };
  } finally {
    await stack.stop();
  }
}

async function main(): Promise<void> {
  const redis = await benchRedis();
  let windowed: Awaited<ReturnType<typeof behindBig>>;
  let fifo: Awaited<ReturnType<typeof behindBig>>;
  try {
    windowed = await behindBig(redis.url, 8);
    fifo = await behindBig(redis.url, 10_000);
  } finally {
    await redis.stop();
  }
  const aloneMs = median(windowed.alone);
  publish({
    bench: 'small-behind-big',
    question: `a 10-item workload submitted while a ${BIG_ITEMS}-item one runs: its submit → result, next to alone`,
    rows: [
      { name: 'small workload alone (baseline)', firstMs: windowed.alone[0], p50Ms: aloneMs, vsAlone: 1, bigMs: null },
      {
        name: 'behind the big one, window 8 (chunkmill)',
        firstMs: windowed.behind[0],
        p50Ms: median(windowed.behind),
        vsAlone: round(median(windowed.behind) / aloneMs),
        bigMs: windowed.bigMs,
      },
      // Here the first small workload waits for the whole backlog; the later ones find the big one done.
      {
        name: 'behind the big one, no window (FIFO, like plain BullMQ)',
        firstMs: fifo.behind[0],
        p50Ms: median(fifo.behind),
        vsAlone: round(fifo.behind[0] / aloneMs),
        bigMs: fifo.bigMs,
      },
    ],
    verdicts: [
      verdict("first small workload behind the big one, share of the big one's duration (window 8)", windowed.behind[0] / windowed.bigMs, 0.1, false),
      `the big one was still running after the small ones (window 8): ${windowed.bigRunningAfter}`,
    ],
    parameters: { bigItems: BIG_ITEMS, bigChunkSize: 100, itemMs: 1, smallItems: 10, smallRuns: SMALL_RUNS, workerProcesses: 2, workerThreads: 1 },
  });
}

runBench(main);
