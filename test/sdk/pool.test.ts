/**
 * The SDK's Pool against a real chunkmill: the in-process producer and a real worker host (2 cluster
 * processes, 1 thread each) from dist/. Types are checked too (`npm run typecheck` covers this file).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ChunkmillApiError, ChunkmillConnectionError, ItemFailedError, Pool, ResultTimeoutError, WorkloadCancelledError } from '../../src';
import { startChunkmill, eventually, type ChunkmillHarness } from '../utils/chunkmill-harness';
import { startProducerHarness } from '../utils/producer-harness';
import { validatingFetch } from '../utils/openapi-validator';
import { LIMITS } from '../../src/contract';
import { defaultChunkSize, planChunks } from '../../src/core/chunk-planner';
import { CITIES } from '../../bench/lib/weather-server';

const NOTEBOOK_INPUTS = new Array<number>(20).fill(2000);

/** Compile-time only: the built-in tasks' inputs and outputs are known by name. */
// biome-ignore lint/suspicious/noExportsInTest: exported so that the compiler checks it without a call
export async function typeChecks(pool: Pool): Promise<unknown[]> {
  const sums: Array<number | string> = await pool.map('sumSquares', [1, 2]);
  const primes: number[] = await pool.map('countPrimes', [10]);
  const products: number[][] = await pool.map('mulArrays', [{ x: [1], y: [2] }]);
  // @ts-expect-error sumSquares takes integers, not strings
  await pool.map('sumSquares', ['2000']);
  // @ts-expect-error spin answers a number
  const wrong: string[] = await pool.map('spin', [{ ms: 1 }]);
  const custom: unknown[] = await pool.map('myOwnTask', [{ anything: true }]);
  const withErrors: Array<number | ItemFailedError> = await pool.map('sleep', [{ ms: 1 }], { errors: 'yield' });
  const one: number = await (await pool.applyAsync('sleep', { ms: 1 })).get();
  for await (const value of pool.imapUnordered('countPrimes', [10])) {
    const typed: number = value;
    void typed;
  }
  return [sums, primes, products, wrong, custom, withErrors, one];
}

describe('Pool (SDK)', () => {
  let chunkmill: ChunkmillHarness;
  let pool: Pool;
  beforeAll(async () => {
    // The fetch test's server is on loopback.
    chunkmill = await startChunkmill('sdk', { workerEnv: { FETCH_ALLOW_PRIVATE: 'true' }, producerEnv: { FETCH_ALLOW_PRIVATE: 'true' } });
    pool = new Pool({ url: chunkmill.api.baseUrl, fetch: validating });
  });
  afterAll(async () => chunkmill.close());
  // Every answer the Pool received matches the OpenAPI document (streams are checked when they end).
  const validating = validatingFetch();
  afterEach(() => expect(validating.violations.map((violation) => violation.message)).toEqual([]));

  const statusOf = async (id: string) => (await pool.status(id)).status;

  it("map: the notebook's Pool.map(much_cpu, [2000] * 20), in order", async () => {
    expect(await pool.map('sumSquares', NOTEBOOK_INPUTS)).toEqual(new Array(20).fill(2664667000));
  });

  it('map: integers beyond 2^53 come back as exact decimal strings', async () => {
    expect(await pool.map('sumSquares', [20_000_000, 3])).toEqual(['2666666466666670000000', 5]);
  });

  it('map: a failed item throws ItemFailedError with its index and code; errors: "yield" puts it in place', async () => {
    const thrown = await pool.map('throwsOn', [1, -2, 3, -4], { attempts: 1 }).catch((error: unknown) => error);
    expect(thrown).toBeInstanceOf(ItemFailedError);
    expect(thrown).toMatchObject({ index: 1, code: 'TASK_ERROR' });
    expect((thrown as Error).message).toContain('negative input -2');

    const inPlace = await pool.map('throwsOn', [1, -2, 3], { attempts: 1, errors: 'yield' });
    expect(inPlace[0]).toBe(1);
    expect(inPlace[1]).toBeInstanceOf(ItemFailedError);
    expect(inPlace[1]).toMatchObject({ index: 1, code: 'TASK_ERROR' });
    expect(inPlace[2]).toBe(3);
  });

  it('a refused request is a ChunkmillApiError carrying the server code, status and details', async () => {
    const unknownTask = await pool.map('noSuchTask', [1]).catch((error: unknown) => error);
    expect(unknownTask).toBeInstanceOf(ChunkmillApiError);
    expect(unknownTask).toMatchObject({ code: 'VALIDATION_FAILED', status: 400 });
    expect((unknownTask as ChunkmillApiError).details).toEqual([expect.objectContaining({ path: 'task' })]);
    await expect(pool.status('no-such-workload')).rejects.toMatchObject({ code: 'NOT_FOUND', status: 404 });
  });

  it('an unreachable server is a ChunkmillConnectionError (CONNECTION_FAILED)', async () => {
    const nowhere = new Pool({ url: 'http://127.0.0.1:1' });
    await expect(nowhere.tasks()).rejects.toBeInstanceOf(ChunkmillConnectionError);
    await expect(nowhere.tasks()).rejects.toMatchObject({ code: 'CONNECTION_FAILED' });
  });

  it('imap: yields in input order although the items finish in another order', async () => {
    const waits = [500, 0, 300, 50, 200, 10, 100];
    const seen: number[] = [];
    for await (const waited of pool.imap(
      'sleep',
      waits.map((ms) => ({ ms })),
      { chunkSize: 1 },
    ))
      seen.push(waited);
    expect(seen).toHaveLength(waits.length);
    seen.forEach((waited, index) => {
      expect(waited).toBeGreaterThanOrEqual(waits[index] - 1);
      expect(waited).toBeLessThan(waits[index] + 200);
    });
  });

  it('imap: bounded look-ahead submits the input in windows and still yields in order', async () => {
    const inputs = Array.from({ length: 10 }, (_, i) => i * 1000);
    const before = new Set((await pool.list({ limit: 1000 })).map((workload) => workload.id));
    const values: Array<number | string> = [];
    for await (const value of pool.imap('sumSquares', inputs, { lookAhead: 4 })) values.push(value);
    expect(values).toEqual(await pool.map('sumSquares', inputs));
    // lookAhead 4 → windows of 2 items: five workloads for ten inputs (plus the map above).
    const created = (await pool.list({ limit: 1000 })).filter((workload) => !before.has(workload.id) && workload.task === 'sumSquares');
    expect(created.filter((workload) => workload.total === 2)).toHaveLength(5);
  });

  it('imap: errors "yield" gives an ItemFailedError entry (index in the whole input); "throw" (default) throws', async () => {
    const entries: unknown[] = [];
    for await (const entry of pool.imap('throwsOn', [1, 2, -3, 4], { attempts: 1, errors: 'yield', lookAhead: 2 })) entries.push(entry);
    expect(entries[0]).toBe(1);
    expect(entries[2]).toBeInstanceOf(ItemFailedError);
    expect(entries[2]).toMatchObject({ index: 2, code: 'TASK_ERROR' });
    expect(entries[3]).toBe(4);

    const collected: number[] = [];
    const iterate = async (): Promise<void> => {
      for await (const value of pool.imap('throwsOn', [1, -2, 3], { attempts: 1 })) collected.push(value as number);
    };
    await expect(iterate()).rejects.toMatchObject({ name: 'ItemFailedError', index: 1 });
    expect(collected).toEqual([1]);
  });

  it('imapUnordered: yields the first result while the slowest chunk is still running', async () => {
    const started = Date.now();
    const iterator = pool.imapUnorderedEntries('sleep', [{ ms: 4000 }, { ms: 10 }, { ms: 20 }], { chunkSize: 1 });
    const first = await iterator.next();
    const firstAfterMs = Date.now() - started;
    expect(first.value).toMatchObject({ index: 1 });
    expect(firstAfterMs).toBeLessThan(3000);
    const rest: number[] = [];
    for await (const entry of { [Symbol.asyncIterator]: () => iterator }) rest.push(entry.index);
    expect(rest).toEqual([2, 0]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(3900);
  });

  it('imapUnordered: sum(imap_unordered(much_cpu, args)) as in the notebook', async () => {
    let sum = 0;
    for await (const value of pool.imapUnordered('sumSquares', NOTEBOOK_INPUTS)) sum += Number(value);
    expect(sum).toBe(53293340000);
  });

  it('imapUnordered: errors "yield" yields the failure; "throw" throws it', async () => {
    const values: unknown[] = [];
    for await (const value of pool.imapUnordered('throwsOn', [-1], { attempts: 1, errors: 'yield' })) values.push(value);
    expect(values).toEqual([expect.objectContaining({ name: 'ItemFailedError', code: 'TASK_ERROR', index: 0 })]);
    const iterate = async (): Promise<void> => {
      for await (const value of pool.imapUnordered('throwsOn', [-1], { attempts: 1 })) values.push(value);
    };
    await expect(iterate()).rejects.toBeInstanceOf(ItemFailedError);
  });

  it('leaving an imapUnordered loop early cancels the workload', async () => {
    let id: string | undefined;
    for await (const entry of pool.imapUnorderedEntries('sleep', [{ ms: 10 }, { ms: 20_000 }, { ms: 20_000 }], { chunkSize: 1 })) {
      expect(entry.index).toBe(0);
      id = (await pool.list({ limit: 1 }))[0].id;
      break;
    }
    expect(await statusOf(id!)).toBe('cancelled');
  });

  it('applyAsync: get() answers the value; get(timeoutMs) times out and the workload goes on; ready()', async () => {
    const handle = await pool.applyAsync('sumSquares', 2000);
    expect(await handle.get()).toBe(2664667000);
    expect(await handle.ready()).toBe(true);

    const slow = await pool.applyAsync('sleep', { ms: 1500 });
    expect(await slow.ready()).toBe(false);
    await expect(slow.get(200)).rejects.toBeInstanceOf(ResultTimeoutError);
    expect(await slow.get(10_000)).toBeGreaterThanOrEqual(1500);
  });

  it('applyAsync: a failed item throws from get(); cancel() cancels', async () => {
    await expect((await pool.applyAsync('throwsOn', -5, { attempts: 1 })).get()).rejects.toMatchObject({ name: 'ItemFailedError', code: 'TASK_ERROR' });
    const handle = await pool.applyAsync('sleep', { ms: 20_000 });
    expect((await handle.cancel()).status).toBe('cancelled');
    await expect(handle.get(5000)).rejects.toBeInstanceOf(WorkloadCancelledError);
  });

  it('AbortSignal on map: rejects with the abort reason and cancels the workload it submitted', async () => {
    const controller = new AbortController();
    const running = pool.map('spin', new Array(4).fill({ ms: 5000 }), { chunkSize: 1, signal: controller.signal });
    let id: string | undefined;
    await eventually(async () => {
      id = (await pool.list({ limit: 1, status: 'running' }))[0]?.id;
      return id !== undefined;
    });
    controller.abort();
    await expect(running).rejects.toMatchObject({ name: 'AbortError' });
    await eventually(async () => (await statusOf(id!)) === 'cancelled', 5000);
  });

  it('AbortSignal on imap and imapUnordered: the loop ends with the abort reason, the workload is cancelled', async () => {
    for (const method of ['imap', 'imapUnordered'] as const) {
      const controller = new AbortController();
      const reason = new Error(`stop ${method}`);
      const seen: number[] = [];
      const iterate = async (): Promise<void> => {
        for await (const value of pool[method]('sleep', [{ ms: 5 }, { ms: 20_000 }], { chunkSize: 1, signal: controller.signal })) {
          seen.push(value);
          setTimeout(() => controller.abort(reason), 100);
        }
      };
      await expect(iterate()).rejects.toBe(reason);
      expect(seen).toHaveLength(1);
      const [latest] = await pool.list({ limit: 1 });
      expect(latest.total).toBe(2);
      await eventually(async () => (await statusOf(latest.id)) === 'cancelled', 5000);
    }
  });

  it('AbortSignal on applyAsync: aborting later cancels the workload; on status(): rejects at once', async () => {
    const controller = new AbortController();
    const handle = await pool.applyAsync('sleep', { ms: 20_000 }, { signal: controller.signal });
    controller.abort();
    await eventually(async () => (await statusOf(handle.id)) === 'cancelled', 5000);
    await expect(pool.status(handle.id, { signal: AbortSignal.abort() })).rejects.toMatchObject({ name: 'AbortError' });
  });

  it("fetch: the notebook's 17-city weather fetch, in input order, with extract", async () => {
    const cities: string[] = [...CITIES];
    const server: Server = createServer((req, res) => {
      const city = new URL(req.url ?? '/', 'http://x').searchParams.get('q') ?? '';
      // Slower for earlier cities, so completion order differs from input order.
      setTimeout(
        () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ name: city, main: { temp: city.length } })),
        200 - cities.indexOf(city) * 10,
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const urls = cities.map((city) => `http://127.0.0.1:${port}/weather?${new URLSearchParams({ q: city })}`);
      const temps = await pool.fetch<number>(urls, { extract: 'main.temp', concurrency: 17, timeoutMs: 5000 });
      expect(temps.map((result) => result.value)).toEqual(cities.map((city) => city.length));
      expect(temps[0]).toMatchObject({ url: urls[0], status: 200, ok: true });
      // One chunk-size rule, the server's: the SDK sends no chunkSize, so 17 requests at concurrency 17 are one chunk.
      const [notebook] = await pool.list({ limit: 1 });
      expect(notebook).toMatchObject({ type: 'fetch', total: 17, chunks: planChunks(17, defaultChunkSize(17, 17)).length });
      expect(notebook.chunks).toBe(1);
      const plain = await pool.submitFetch(urls);
      expect(plain.chunks).toBe(planChunks(17, defaultChunkSize(17, LIMITS.defaultFetchConcurrency)).length);
      await pool.results(plain.id, { waitMs: 10_000 });
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('imap over many windows yields every item in input order', async () => {
    const inputs = Array.from({ length: 3000 }, (_, i) => i);
    const values: number[] = [];
    for await (const value of pool.imap('throwsOn', inputs, { lookAhead: 1000, chunkSize: 100 })) values.push(value as number);
    expect(values).toEqual(inputs);
  });

  it('map reads a workload bigger than resultsPageSize in pages, every item in order', async () => {
    const urls: string[] = [];
    const counting: typeof fetch = (input, init) => {
      urls.push(String(input));
      return fetch(input, init);
    };
    const paging = new Pool({ url: chunkmill.api.baseUrl, fetch: counting, resultsPageSize: 7 });
    const inputs = Array.from({ length: 30 }, (_, i) => (i === 22 ? -22 : i));
    const values = await paging.map('throwsOn', inputs, { attempts: 1, errors: 'yield' });
    expect(values.map((value) => (value instanceof ItemFailedError ? value.index : value))).toEqual(inputs.map((input) => Math.abs(input)));
    expect(values[22]).toMatchObject({ name: 'ItemFailedError', code: 'TASK_ERROR' });
    const pages = urls.filter((url) => url.includes('/results')).map((url) => new URL(url).search);
    // Long-polls for the first page until the workload is final, then the other pages.
    expect(pages.at(-5)).toMatch(/^\?wait=\d+&limit=7$/);
    expect(pages.slice(-4)).toEqual(['?offset=7&limit=7', '?offset=14&limit=7', '?offset=21&limit=7', '?offset=28&limit=7']);
  });

  it('results in pages, and resultEntries / resultsStream over the NDJSON stream', async () => {
    const inputs = Array.from({ length: 25 }, (_, i) => (i === 11 ? -11 : i));
    const { id } = await pool.submitCompute('throwsOn', inputs, { chunkSize: 4, attempts: 1 });
    const page = await pool.results(id, { waitMs: 10_000, offset: 10, limit: 3 });
    expect(page).toMatchObject({ status: 'failed', total: 25, offset: 10, results: [10, null, 12], errors: [{ index: 11, code: 'TASK_ERROR' }] });

    const entries = [];
    for await (const entry of pool.resultEntries(id)) entries.push(entry);
    expect(entries.map((entry) => entry.index)).toEqual(inputs.map((_, i) => i));
    expect(entries[11]).toEqual({ index: 11, value: null, error: { code: 'TASK_ERROR', message: expect.stringContaining('negative input -11') } });
    expect(entries[24]).toEqual({ index: 24, value: 24 });

    const stream = await pool.resultsStream<number>(id, { offset: 20, limit: 10 });
    expect(stream).toMatchObject({ id, status: 'failed', total: 25, completed: 24, failed: 1, offset: 20 });
    const tail: Array<number | null> = [];
    for await (const entry of stream.entries) tail.push(entry.value);
    expect(tail).toEqual([20, 21, 22, 23, 24]);
    await expect(pool.resultsStream('no-such-workload')).rejects.toMatchObject({ code: 'NOT_FOUND', status: 404 });
    await expect(pool.results(id, { limit: 0 })).rejects.toMatchObject({ code: 'VALIDATION_FAILED', status: 400 });
  });

  it('resultEntries waits for the workload with waitMs, then streams', async () => {
    const { id } = await pool.submitCompute('sleep', [{ ms: 300 }, { ms: 10 }], { chunkSize: 1 });
    const stream = await pool.resultsStream(id, { waitMs: 20_000 });
    expect(stream.status).toBe('completed');
    const values = [];
    for await (const entry of stream.entries) values.push(entry.value);
    expect(values).toHaveLength(2);
  });

  it('cancel, tasks, results and events', async () => {
    const { id } = await pool.submitCompute('sleep', [{ ms: 20_000 }]);
    expect((await pool.cancel(id)).status).toBe('cancelled');
    await expect(pool.cancel(id)).resolves.toMatchObject({ status: 'cancelled' });
    expect((await pool.tasks()).map((task) => task.name)).toEqual(expect.arrayContaining(['sumSquares', 'countPrimes', 'mulArrays', 'spin', 'sleep']));

    const done = await pool.submitCompute('sumSquares', [10, 20], { reduce: 'sum' });
    const types: string[] = [];
    for await (const event of pool.events(done.id)) types.push(event.type);
    expect(types.filter((type) => type === 'result')).toHaveLength(2);
    expect(types.at(-1)).toBe('done');
    expect(await pool.results(done.id, { waitMs: 5000 })).toMatchObject({ status: 'completed', results: [285, 2470], reduced: 2755 });
    await expect(pool.cancel(done.id)).rejects.toMatchObject({ code: 'ALREADY_FINISHED', status: 409 });
  });
});

describe('Pool (SDK) with API_TOKENS', () => {
  it('sends the token; a wrong one is UNAUTHORIZED', async () => {
    const producer = await startProducerHarness('sdk-auth', { API_TOKENS: 'right-token' });
    try {
      await expect(new Pool({ url: producer.api.baseUrl, token: 'right-token' }).tasks()).resolves.toEqual(expect.any(Array));
      await expect(new Pool({ url: producer.api.baseUrl, token: 'wrong' }).tasks()).rejects.toMatchObject({ code: 'UNAUTHORIZED', status: 401 });
    } finally {
      await producer.close();
    }
  });
});
