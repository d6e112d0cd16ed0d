/**
 * Question: how close does chunkmill come to the ideal for many slow HTTP requests, next to the
 * notebook's ThreadPool?
 *
 * A local server on 127.0.0.1, in a process of its own (as a remote API would be: it does not take turns
 * with the measuring client on one event loop), answers like the weather API after LATENCY_MS (85 ms).
 * Measured in the same run, against the same server:
 * 1. chunkmill: a fetch workload of N requests, concurrency 100, through a worker host of 2 processes,
 *    timed from POST to results. Target: ≥ 0.9 of the ideal throughput, ideal = ceil(N / 100) × 85 ms.
 * 2. The notebook's approach: Python's ThreadPool(100) with urllib (bench/fetch_threadpool.py).
 * 3. A bare undici client in the bench process, 100 at a time: the machine's own ceiling right now.
 * 4. A plain serial loop, estimated as N × the median latency of single requests made one after another.
 * 5. The 17 cities as one workload (concurrency 17): wall time from POST to results, in round trips of
 *    85 ms. Target: about one round trip (≤ 2, since the POST, the queue and the results poll add to it).
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { Agent, request } from 'undici';
import { CITIES } from './lib/weather-server';
import { startWeatherServerProcess, type WeatherServerProcess } from './lib/weather-server-process';
import { isQuick, median, publish, round, runBench, verdict } from './lib/bench-report';
import { benchRedis, runWorkload, startStack } from './lib/chunkmill-stack';

const quick = isQuick();
const LATENCY_MS = 85;
const REQUESTS = quick ? 200 : 2000;
const CONCURRENCY = 100;
const REPEATS = quick ? 1 : 5;
const SERIAL_SAMPLES = quick ? 5 : 20;
const PYTHON_SCRIPT = path.resolve(__dirname, '../../bench/fetch_threadpool.py');

const urls = (server: WeatherServerProcess, count: number): string[] =>
  Array.from({ length: count }, (_, index) => `${server.weatherUrl(CITIES[index % CITIES.length])}&n=${index}`);

/** Median latency of single requests, one after another on one keep-alive connection. */
async function serialLatencyMs(server: WeatherServerProcess): Promise<number> {
  const agent = new Agent({ connections: 1 });
  const latencies: number[] = [];
  try {
    for (let index = 0; index < SERIAL_SAMPLES; index++) {
      const started = performance.now();
      const response = await request(server.weatherUrl('Zurich'), { dispatcher: agent });
      await response.body.json();
      latencies.push(performance.now() - started);
    }
  } finally {
    await agent.close();
  }
  return median(latencies);
}

/**
 * The same requests from a bare undici client in this process, 100 at a time: what this machine allows
 * right now, with no queue, no Redis and no second process (a same-run reference for a shared machine).
 */
async function bareClientMs(server: WeatherServerProcess): Promise<number> {
  const agent = new Agent({ connections: CONCURRENCY });
  const pending = urls(server, REQUESTS);
  const started = performance.now();
  try {
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        for (let url = pending.shift(); url !== undefined; url = pending.shift()) {
          const response = await request(url, { dispatcher: agent });
          await response.body.json();
        }
      }),
    );
  } finally {
    await agent.close();
  }
  return performance.now() - started;
}

async function pythonThreadPoolMs(server: WeatherServerProcess): Promise<number | null> {
  const run = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = execFile('python3', [PYTHON_SCRIPT, server.origin, String(REQUESTS), String(CONCURRENCY)], { timeout: 120_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? 1 : 0, stdout, stderr: stderr || (error?.message ?? '') }),
    );
    child.stdin?.end();
  });
  if (run.code !== 0) {
    process.stderr.write(`python3 baseline failed: ${run.stderr}\n`);
    return null;
  }
  const { ms, ok } = JSON.parse(run.stdout) as { ms: number; ok: number };
  if (ok !== REQUESTS) throw new Error(`python baseline: ${ok} of ${REQUESTS} requests succeeded`);
  return ms;
}

async function main(): Promise<void> {
  const server = await startWeatherServerProcess(LATENCY_MS);
  const redis = await benchRedis();
  const stack = await startStack(redis.url, { workerProcesses: 2, workerThreads: 1, env: { FETCH_ALLOW_PRIVATE: 'true' } });
  const workload = (count: number, concurrency: number) => ({
    type: 'fetch',
    urls: urls(server, count),
    extract: 'main.temp',
    concurrency,
    // Per process; the workload-wide limit is `concurrency`.
    perHostConcurrency: concurrency,
  });
  const chunkmillMs: number[] = [];
  const peaks: number[] = [];
  const pythonMs: number[] = [];
  const citiesMs: number[] = [];
  const bareMs: number[] = [];
  // Where chunkmill's time goes besides the rounds themselves, by the server's clock.
  const startMs: number[] = [];
  const finishMs: number[] = [];
  let serialMs = Number.NaN;
  try {
    // Warm-up, untimed, at full size for both Node clients: on this kind of VM the first 2,000-request
    // run costs a worker process about twice the CPU of the later ones (the JIT), and connections open.
    await runWorkload(stack.baseUrl, workload(REQUESTS, CONCURRENCY));
    await bareClientMs(server);
    serialMs = await serialLatencyMs(server);
    for (let run = 0; run < REPEATS; run++) {
      await server.resetPeaks();
      const submission = workload(REQUESTS, CONCURRENCY);
      const postedAt = Date.now();
      const fetched = await runWorkload(stack.baseUrl, submission);
      if (fetched.body.status !== 'completed')
        throw new Error(`fetch workload ended ${fetched.body.status}: ${JSON.stringify(fetched.body.errors.slice(0, 3))}`);
      chunkmillMs.push(fetched.wallMs);
      const stats = await server.stats();
      peaks.push(stats.maxInFlight);
      startMs.push(stats.firstRequestAt - postedAt);
      finishMs.push(postedAt + fetched.wallMs - stats.lastAnswerAt);
      const cities = await runWorkload(stack.baseUrl, workload(CITIES.length, CITIES.length));
      if (cities.body.status !== 'completed') throw new Error(`cities workload ended ${cities.body.status}`);
      citiesMs.push(cities.wallMs);
      bareMs.push(await bareClientMs(server));
      const python = await pythonThreadPoolMs(server);
      if (python !== null) pythonMs.push(python);
    }
  } finally {
    await stack.stop();
    await redis.stop();
    await server.close();
  }

  const idealMs = Math.ceil(REQUESTS / CONCURRENCY) * LATENCY_MS;
  const serialEstimateMs = REQUESTS * serialMs;
  const chunkmill = median(chunkmillMs);
  const python = pythonMs.length > 0 ? median(pythonMs) : Number.NaN;
  const cities = median(citiesMs);
  const perSecond = (ms: number): number => REQUESTS / (ms / 1000);
  publish({
    bench: 'fetch-throughput',
    question:
      `${REQUESTS} requests to a local server with ${LATENCY_MS} ms latency, concurrency ${CONCURRENCY}: ` +
      `chunkmill vs the ideal, a serial loop and Python's ThreadPool(${CONCURRENCY})`,
    rows: [
      {
        name: `ideal: ceil(${REQUESTS}/${CONCURRENCY}) × ${LATENCY_MS} ms`,
        wallMs: idealMs,
        requestsPerSecond: perSecond(idealMs),
        fractionOfIdeal: 1,
        peakInFlight: CONCURRENCY,
      },
      {
        name: 'chunkmill fetch (2 processes)',
        wallMs: chunkmill,
        requestsPerSecond: perSecond(chunkmill),
        fractionOfIdeal: idealMs / chunkmill,
        peakInFlight: Math.max(...peaks),
      },
      { name: '… of which POST → first request at the server', wallMs: median(startMs), requestsPerSecond: null, fractionOfIdeal: null, peakInFlight: null },
      { name: '… of which last answer → results in hand', wallMs: median(finishMs), requestsPerSecond: null, fractionOfIdeal: null, peakInFlight: null },
      {
        name: `bare undici client, ${CONCURRENCY} at a time (reference)`,
        wallMs: median(bareMs),
        requestsPerSecond: perSecond(median(bareMs)),
        fractionOfIdeal: idealMs / median(bareMs),
        peakInFlight: CONCURRENCY,
      },
      {
        name: `Python ThreadPool(${CONCURRENCY}) + urllib`,
        wallMs: python,
        requestsPerSecond: perSecond(python),
        fractionOfIdeal: idealMs / python,
        peakInFlight: null,
      },
      {
        name: `serial loop (estimate: ${REQUESTS} × ${round(serialMs)} ms)`,
        wallMs: serialEstimateMs,
        requestsPerSecond: perSecond(serialEstimateMs),
        fractionOfIdeal: idealMs / serialEstimateMs,
        peakInFlight: 1,
      },
      {
        name: `17 cities, one workload (POST to results)`,
        wallMs: cities,
        requestsPerSecond: null,
        fractionOfIdeal: null,
        peakInFlight: null,
        roundTrips: cities / LATENCY_MS,
      },
    ],
    verdicts: [
      verdict('chunkmill fraction of ideal throughput', idealMs / chunkmill, 0.9),
      verdict('17 cities wall time in round trips of 85 ms', cities / LATENCY_MS, 2, false),
      verdict('peak requests in flight (workload concurrency 100)', Math.max(...peaks), CONCURRENCY, false),
    ],
    parameters: {
      requests: REQUESTS,
      latencyMs: LATENCY_MS,
      concurrency: CONCURRENCY,
      repeats: REPEATS,
      workerProcesses: 2,
      runsMs: { chunkmill: chunkmillMs, bare: bareMs, python: pythonMs, cities: citiesMs, start: startMs, finish: finishMs },
    },
  });
}

runBench(main);
