/**
 * Question: how fast does a big workload's results answer come back, and what does a stored result cost
 * Redis?
 *
 * 1,000,000 no-op items (`sumSquares(0)`, chunkSize 10,000) run once; then their results are read back:
 * - whole: one `GET /v1/workloads/:id/results`, timed to the last byte (median of several reads);
 * - in pages: `?offset=…&limit=10000` one after another, timed from the first to the last page's last byte;
 * - the baseline, in the same run: the same body's bytes as one Redis GET and served over HTTP from
 *   memory in this process (what moving that many bytes costs here, with nothing computed).
 * Targets: whole and paged reads ≤ 0.3 s; Redis memory per stored no-op result ≤ 8 bytes (MEMORY USAGE
 * of the workload's results hash over its items).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { isQuick, median, publish, runBench, verdict } from './lib/bench-report';
import { benchRedis, runWorkload, startStack } from './lib/chunkmill-stack';

const quick = isQuick();
const ITEMS = quick ? 20_000 : 1_000_000;
const CHUNK_SIZE = quick ? 1_000 : 10_000;
const PAGE = 10_000;
const REPEATS = quick ? 1 : 5;

/** Milliseconds to read `url`'s body to its end, and the body. */
async function timedRead(url: string): Promise<{ ms: number; body: string }> {
  const started = performance.now();
  const answer = await fetch(url);
  const body = await answer.text();
  if (answer.status !== 200) throw new Error(`${url} answered ${answer.status}: ${body.slice(0, 200)}`);
  return { ms: performance.now() - started, body };
}

async function main(): Promise<void> {
  const redis = await benchRedis();
  const stack = await startStack(redis.url, { workerProcesses: 2, workerThreads: 1 });
  const client = new Redis(redis.url);
  const server = http.createServer();
  try {
    const run = await runWorkload(stack.baseUrl, { type: 'compute', task: 'sumSquares', inputs: new Array(ITEMS).fill(0), chunkSize: CHUNK_SIZE });
    if (run.body.status !== 'completed') throw new Error(`the workload ended ${run.body.status}`);
    const id = run.body.id as string;
    const resultsUrl = `${stack.baseUrl}/v1/workloads/${id}/results`;
    const bytesPerResult = Number(await client.memory('USAGE', `${stack.prefix}:wl:{${id}}:results`, 'SAMPLES', 0)) / ITEMS;

    const body = (await timedRead(resultsUrl)).body;
    const parsed = JSON.parse(body) as { results: unknown[] };
    if (parsed.results.length !== ITEMS || parsed.results.some((value) => value !== 0)) throw new Error("the results answer is not every item's 0");
    const baselineKey = `${stack.prefix}:baseline-body`;
    await client.set(baselineKey, body);
    server.on('request', (_request, response) => response.writeHead(200, { 'content-type': 'application/json' }).end(body));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const memoryUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;

    const whole: number[] = [];
    const paged: number[] = [];
    const fromRedis: number[] = [];
    const overHttp: number[] = [];
    for (let repeat = 0; repeat < REPEATS; repeat++) {
      whole.push((await timedRead(resultsUrl)).ms);
      const started = performance.now();
      let items = 0;
      for (let offset = 0; offset < ITEMS; offset += PAGE) {
        const page = JSON.parse((await timedRead(`${resultsUrl}?offset=${offset}&limit=${PAGE}`)).body) as { results: unknown[] };
        items += page.results.length;
      }
      if (items !== ITEMS) throw new Error(`the pages held ${items} items, not ${ITEMS}`);
      paged.push(performance.now() - started);
      const redisStarted = performance.now();
      await client.getBuffer(baselineKey);
      fromRedis.push(performance.now() - redisStarted);
      overHttp.push((await timedRead(memoryUrl)).ms);
    }
    const [wholeMs, pagedMs, redisMs, httpMs] = [whole, paged, fromRedis, overHttp].map(median);
    publish({
      bench: 'results-read',
      question: `${ITEMS.toLocaleString('en')} no-op results read back, whole and in pages of ${PAGE.toLocaleString('en')}, next to moving the same bytes`,
      rows: [
        { name: 'baseline: the same body as one Redis GET', ms: redisMs, ratioToBaseline: 1 },
        { name: 'baseline: the same body over HTTP from memory', ms: httpMs, ratioToBaseline: httpMs / redisMs },
        { name: 'chunkmill results, whole', ms: wholeMs, ratioToBaseline: wholeMs / redisMs },
        { name: `chunkmill results, ${Math.ceil(ITEMS / PAGE)} pages`, ms: pagedMs, ratioToBaseline: pagedMs / redisMs },
      ],
      verdicts: [
        verdict('whole results read (s)', wholeMs / 1000, 0.3, false),
        verdict('paged results read (s)', pagedMs / 1000, 0.3, false),
        verdict('Redis bytes per stored no-op result', bytesPerResult, 8, false),
      ],
      parameters: { items: ITEMS, chunkSize: CHUNK_SIZE, page: PAGE, repeats: REPEATS, bodyBytes: Buffer.byteLength(body) },
    });
  } finally {
    server.close();
    client.disconnect();
    await stack.stop();
    await redis.stop();
  }
}

runBench(main);
