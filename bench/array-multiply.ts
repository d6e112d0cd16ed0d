/**
 * Question: how fast is the notebook's 16 M-element array multiply through chunkmill's binary arrays,
 * next to one Node thread and the notebook's own Python, and what does zero-copy save inside a host?
 *
 * Each repeat, on the same random x and y:
 *   1. Node, one thread, a Float64Array loop (the baseline: memory speed on one core);
 *   2. chunkmill: PUT x and y (raw bytes), POST mulArrays over them, wait, GET out — each phase timed,
 *      on a worker host of N processes × 1 thread; out is checked bit for bit against the Node loop;
 *   3. python3, the notebook's `mularray` list comprehension, and its Pool version (notebook_mularray.py).
 * And the in-host hand-off to a compute thread: SharedArrayBuffer views vs a structured-clone copy vs JSON.
 * Arrays live on a private redis-server (hundreds of MB; the shared Redis is not for filling).
 */
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { Piscina } from 'piscina';
import { type BenchRow, isQuick, median, publish, runBench, verdict } from './lib/bench-report';
import { privateRedis, runWorkload, startStack } from './lib/chunkmill-stack';

const quick = isQuick();
const ELEMENTS = quick ? 100_000 : 16_000_000;
const REPEATS = quick ? 1 : 3;
const cores = os.availableParallelism();
/** Elements of the JSON hand-off's slice (the JSON mulArrays task's item limit). */
const JSON_SLICE = 1_000_000;
/** Bytes one element moves: x and y read, out written. */
const BYTES_PER_ELEMENT = 24;

function randomArray(length: number): Float64Array {
  const values = new Float64Array(length);
  for (let i = 0; i < length; i++) values[i] = Math.random();
  return values;
}

function nodeLoopMs(x: Float64Array, y: Float64Array, out: Float64Array): number {
  const started = performance.now();
  for (let i = 0; i < x.length; i++) out[i] = x[i] * y[i];
  return performance.now() - started;
}

const bytesOf = (values: Float64Array): Buffer => Buffer.from(values.buffer, values.byteOffset, values.byteLength);

async function putArray(baseUrl: string, name: string, values: Float64Array): Promise<void> {
  const answer = await fetch(`${baseUrl}/v1/arrays/${name}`, { method: 'PUT', headers: { 'content-type': 'application/octet-stream' }, body: bytesOf(values) });
  if (answer.status !== 200) throw new Error(`PUT ${name} answered ${answer.status}: ${await answer.text()}`);
}

interface ChunkmillRun {
  uploadMs: number;
  computeMs: number;
  downloadMs: number;
}

async function chunkmillRun(baseUrl: string, x: Float64Array, y: Float64Array, expected: Float64Array): Promise<ChunkmillRun> {
  let started = performance.now();
  await Promise.all([putArray(baseUrl, 'x', x), putArray(baseUrl, 'y', y)]);
  const uploadMs = performance.now() - started;
  const { body, wallMs: computeMs } = await runWorkload(baseUrl, { type: 'compute', task: 'mulArrays', arrays: { x: 'x', y: 'y', out: 'z' } });
  if (body.status !== 'completed') throw new Error(`mulArrays ended ${body.status}: ${JSON.stringify(body.errors?.[0])}`);
  started = performance.now();
  const answer = await fetch(`${baseUrl}/v1/arrays/z`);
  const out = Buffer.from(await answer.arrayBuffer());
  const downloadMs = performance.now() - started;
  if (Buffer.compare(out, bytesOf(expected)) !== 0) throw new Error("chunkmill's out array differs from the Node loop's");
  return { uploadMs, computeMs, downloadMs };
}

function pythonFigures(): { single: number[]; pool: number[] } | undefined {
  const script = path.resolve(__dirname, '../../bench/notebook_mularray.py');
  try {
    const output = execFileSync('python3', [script, String(ELEMENTS), String(REPEATS)], { maxBuffer: 1 << 20 }).toString();
    const figures = JSON.parse(output) as { single: number[]; pool: number[] };
    return { single: figures.single.map((s) => s * 1000), pool: figures.pool.map((s) => s * 1000) };
  } catch (error) {
    process.stderr.write(`python3 baseline skipped: ${(error as Error).message}\n`);
    return undefined;
  }
}

/** The in-host hand-off to one compute thread, three ways; ms per multiply, thread start-up excluded. */
async function handoffFigures(x: Float64Array, y: Float64Array, expected: Float64Array): Promise<{ shared: number[]; cloned: number[]; json: number[] }> {
  const pool = new Piscina({ filename: path.join(__dirname, 'lib/array-handoff-thread.js'), minThreads: 1, maxThreads: 1 });
  const figures = { shared: [] as number[], cloned: [] as number[], json: [] as number[] };
  try {
    const sharedX = new SharedArrayBuffer(x.byteLength);
    const sharedY = new SharedArrayBuffer(y.byteLength);
    new Float64Array(sharedX).set(x);
    new Float64Array(sharedY).set(y);
    const small = { x: new SharedArrayBuffer(8), y: new SharedArrayBuffer(8), out: new SharedArrayBuffer(8) };
    await pool.run(small, { name: 'mulShared' }); // the thread is up and its code loaded
    for (let run = 0; run < REPEATS; run++) {
      const out = new SharedArrayBuffer(x.byteLength);
      let started = performance.now();
      await pool.run({ x: sharedX, y: sharedY, out }, { name: 'mulShared' });
      figures.shared.push(performance.now() - started);
      if (Buffer.compare(Buffer.from(out), bytesOf(expected)) !== 0) throw new Error('shared hand-off: wrong product');

      started = performance.now();
      const cloned = (await pool.run({ x, y }, { name: 'mulCloned' })) as Float64Array;
      figures.cloned.push(performance.now() - started);
      if (Buffer.compare(bytesOf(cloned), bytesOf(expected)) !== 0) throw new Error('cloned hand-off: wrong product');
    }
    // JSON text both ways, as `inputs: [{x: [...], y: [...]}]` travels. 16 M elements do not fit in one
    // JavaScript string as JSON (over 512 M characters), and the JSON mulArrays task takes 1 M elements
    // an item: so one 1 M-element slice is timed and scaled to the whole array.
    const slice = Math.min(ELEMENTS, JSON_SLICE);
    const started = performance.now();
    const text = (await pool.run(JSON.stringify({ x: Array.from(x.subarray(0, slice)), y: Array.from(y.subarray(0, slice)) }), { name: 'mulJson' })) as string;
    const product = Float64Array.from(JSON.parse(text) as number[]);
    figures.json.push(((performance.now() - started) * ELEMENTS) / slice);
    if (Buffer.compare(bytesOf(product), bytesOf(expected.subarray(0, slice))) !== 0) throw new Error('JSON hand-off: wrong product');
  } finally {
    await pool.destroy();
  }
  return figures;
}

async function main(): Promise<void> {
  const x = randomArray(ELEMENTS);
  const y = randomArray(ELEMENTS);
  const expected = new Float64Array(ELEMENTS);
  const node: number[] = [];
  for (let warm = 0; warm < 3; warm++) nodeLoopMs(x.subarray(0, 100_000), y.subarray(0, 100_000), expected.subarray(0, 100_000));
  const runs: ChunkmillRun[] = [];
  const redis = await privateRedis();
  // A stack that fails to start must not leave the private redis-server behind.
  const stack = await startStack(redis.url, { workerProcesses: cores, workerThreads: 1 }).catch(async (error: unknown) => {
    await redis.stop();
    throw error;
  });
  try {
    for (let run = 0; run < REPEATS; run++) {
      node.push(nodeLoopMs(x, y, expected));
      runs.push(await chunkmillRun(stack.baseUrl, x, y, expected));
    }
  } finally {
    await stack.stop();
    await redis.stop();
  }
  const handoff = await handoffFigures(x, y, expected);
  const python = pythonFigures();

  const nodeMs = median(node);
  const upload = median(runs.map((run) => run.uploadMs));
  const compute = median(runs.map((run) => run.computeMs));
  const download = median(runs.map((run) => run.downloadMs));
  const total = median(runs.map((run) => run.uploadMs + run.computeMs + run.downloadMs));
  const gbPerSecond = (ms: number): number => (ELEMENTS * BYTES_PER_ELEMENT) / (ms / 1000) / 1e9;
  const row = (name: string, ms: number): BenchRow => ({
    name,
    wallMs: ms,
    elementsPerSecond: ELEMENTS / (ms / 1000),
    gbPerSecond: gbPerSecond(ms),
    vsNodeLoop: nodeMs / ms,
  });
  const rows: BenchRow[] = [
    row('Node, one thread, Float64Array loop (baseline)', nodeMs),
    row(`chunkmill mulArrays, ${cores} processes × 1 thread: POST → completed`, compute),
    row('chunkmill: PUT x and y (raw bytes)', upload),
    row('chunkmill: GET out (raw bytes)', download),
    row('chunkmill: PUT + compute + GET', total),
    row('in-host hand-off to a thread: SharedArrayBuffer (zero-copy)', median(handoff.shared)),
    row('in-host hand-off to a thread: structured-clone copy', median(handoff.cloned)),
    row(`in-host hand-off to a thread: JSON text (${Math.min(ELEMENTS, JSON_SLICE) / 1e6} M slice, scaled)`, median(handoff.json)),
  ];
  if (python) {
    rows.push(
      row('python3 notebook mularray (lists, one process)', median(python.single)),
      row('python3 notebook Pool.imap (lists, 16 blocks)', median(python.pool)),
    );
  }
  const verdicts = [
    verdict('zero-copy hand-off vs structured-clone copy (speedup)', median(handoff.cloned) / median(handoff.shared), 1),
    verdict('zero-copy hand-off vs JSON (speedup)', median(handoff.json) / median(handoff.shared), 10),
  ];
  if (python) {
    const pool = median(python.pool);
    verdicts.push(
      verdict("chunkmill mulArrays (POST → completed) vs the notebook's Pool.imap (speedup)", pool / compute, 1),
      verdict("chunkmill PUT + compute + GET vs the notebook's Pool.imap (speedup)", pool / total, 1),
      verdict('chunkmill mulArrays (POST → completed) vs python3 lists in one process (speedup)', median(python.single) / compute, 1),
    );
  }
  publish({
    bench: 'array-multiply',
    question:
      `${ELEMENTS.toLocaleString('en')}-element multiply: chunkmill's binary arrays vs one Node thread and the notebook's Python; ` +
      'zero-copy vs copying inside a host',
    rows,
    verdicts,
    parameters: {
      elements: ELEMENTS,
      repeats: REPEATS,
      cores,
      workerProcesses: cores,
      workerThreads: 1,
      bytesPerElement: BYTES_PER_ELEMENT,
      elementsPerItem: 1 << 20,
    },
  });
}

runBench(main);
