/**
 * Question: how close does chunkmill come to the machine's CPU ceiling?
 *
 * The same CPU-bound workload — ITEMS calls of `sumSquares(n)` (the notebook's much_cpu), n chosen so
 * that one call takes about 200 ms here — is run
 *   1. inline, on one thread (the baseline for speedups);
 *   2. as N independent OS processes, N = cores, each doing its share (the machine's ceiling);
 *   3. through chunkmill: producer + a worker host of N processes × 1 thread, one item per chunk,
 *      timed from POST to the results answer;
 * and, next to it, the notebook's own multiprocessing.Pool with python3 (inline, N processes, Pool.map).
 * chunkmill's fraction of the ceiling = ceiling wall time / chunkmill wall time. Target ≥ 0.95.
 */
import { execFileSync, spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { sumSquares } from '../src/core/tasks/sum-squares';
import { type BenchRow, isQuick, median, publish, runBench, verdict } from './lib/bench-report';
import { benchRedis, runWorkload, startStack } from './lib/chunkmill-stack';

const quick = isQuick();
const ITEMS = quick ? 4 : 20;
const REPEATS = quick ? 1 : 5;
const TARGET_ITEM_MS = quick ? 20 : 200;
const cores = os.availableParallelism();

/**
 * The n for which one sumSquares(n) takes about TARGET_ITEM_MS here. Its cost is not linear in n (past
 * ~30 M the running total is carried into a BigInt more and more often), so n is found by bisection.
 */
function calibrateN(): number {
  // Let V8 optimise the loop first: unoptimised, it runs several times slower and n would come out small.
  for (let warm = 0; warm < 30; warm++) sumSquares.run(1_000_000);
  const timeOf = (n: number): number => {
    const started = performance.now();
    sumSquares.run(n);
    return performance.now() - started;
  };
  let low = 10_000;
  let high = 60_000_000;
  for (let round = 0; round < 14 && high - low > 100_000; round++) {
    const middle = Math.round((low + high) / 2);
    if (Math.min(timeOf(middle), timeOf(middle)) < TARGET_ITEM_MS) low = middle;
    else high = middle;
  }
  return low;
}

function inlineMs(n: number): number {
  const started = performance.now();
  for (let i = 0; i < ITEMS; i++) sumSquares.run(n);
  return performance.now() - started;
}

async function independentProcessesMs(n: number): Promise<number> {
  const startAt = Date.now() + 1500;
  const shares = Array.from({ length: cores }, (_, k) => Math.floor(ITEMS / cores) + (k < ITEMS % cores ? 1 : 0));
  const ends = await Promise.all(
    shares.map(
      (share) =>
        new Promise<number>((resolve, reject) => {
          const child = spawn(process.execPath, [path.join(__dirname, 'lib/cpu-share.js'), String(n), String(share), String(startAt)]);
          let output = '';
          child.stdout.on('data', (chunk) => (output += chunk));
          child.on('exit', (code) => (code === 0 ? resolve(Number(output.trim())) : reject(new Error(`cpu-share exited ${code}`))));
        }),
    ),
  );
  return Math.max(...ends) - startAt;
}

function pythonFigures(): { n: number; inline: number[]; independent: number[]; pool: number[] } | undefined {
  const script = path.resolve(__dirname, '../../bench/notebook_pool.py');
  try {
    const output = execFileSync('python3', [script, String(TARGET_ITEM_MS), String(ITEMS), String(REPEATS)], { maxBuffer: 1 << 20 }).toString();
    const figures = JSON.parse(output) as { n: number; inline: number[]; independent: number[]; pool: number[] };
    const toMs = (values: number[]): number[] => values.map((s) => s * 1000);
    return { n: figures.n, inline: toMs(figures.inline), independent: toMs(figures.independent), pool: toMs(figures.pool) };
  } catch (error) {
    process.stderr.write(`python3 baseline skipped: ${(error as Error).message}\n`);
    return undefined;
  }
}

async function main(): Promise<void> {
  const n = calibrateN();
  const redis = await benchRedis();
  const stack = await startStack(redis.url, { workerProcesses: cores, workerThreads: 1 });
  const workload = { type: 'compute', task: 'sumSquares', inputs: new Array(ITEMS).fill(n), chunkSize: 1 };
  const inline: number[] = [];
  const independent: number[] = [];
  const chunkmill: number[] = [];
  try {
    await runWorkload(stack.baseUrl, { ...workload, inputs: new Array(cores * 2).fill(1000) }); // warm-up
    for (let run = 0; run < REPEATS; run++) {
      inline.push(inlineMs(n));
      independent.push(await independentProcessesMs(n));
      const { body, wallMs } = await runWorkload(stack.baseUrl, workload);
      if (body.status !== 'completed') throw new Error(`chunkmill workload ended ${body.status}`);
      chunkmill.push(wallMs);
    }
  } finally {
    await stack.stop();
    await redis.stop();
  }
  const python = pythonFigures();

  const base = median(inline);
  const ceiling = median(independent);
  const ours = median(chunkmill);
  const rows: BenchRow[] = [
    { name: 'Node inline, one thread', wallMs: base, speedup: 1, fractionOfCeiling: null },
    { name: `Node ${cores} independent processes (ceiling)`, wallMs: ceiling, speedup: base / ceiling, fractionOfCeiling: 1 },
    { name: `chunkmill, ${cores} processes × 1 thread`, wallMs: ours, speedup: base / ours, fractionOfCeiling: ceiling / ours },
  ];
  if (python) {
    const pyBase = median(python.inline);
    const pyCeiling = median(python.independent);
    const pyPool = median(python.pool);
    rows.push(
      { name: 'python3 inline (notebook much_cpu)', wallMs: pyBase, speedup: 1, fractionOfCeiling: null },
      { name: `python3 ${cores} independent processes`, wallMs: pyCeiling, speedup: pyBase / pyCeiling, fractionOfCeiling: 1 },
      { name: 'python3 multiprocessing.Pool.map', wallMs: pyPool, speedup: pyBase / pyPool, fractionOfCeiling: pyCeiling / pyPool },
    );
  }
  publish({
    bench: 'cpu-scaling',
    question: `${ITEMS} CPU-bound items of ~${TARGET_ITEM_MS} ms: chunkmill's speedup as a fraction of ${cores} independent processes`,
    rows,
    verdicts: [verdict('chunkmill fraction of the ceiling', ceiling / ours, 0.95)],
    parameters: { items: ITEMS, repeats: REPEATS, nodeN: n, pythonN: python?.n ?? null, cores, chunkSize: 1 },
  });
}

runBench(main);
