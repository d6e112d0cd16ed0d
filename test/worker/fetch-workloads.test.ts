/**
 * Fetch workloads through real worker processes against a local weather-like server on 127.0.0.1
 * (FETCH_ALLOW_PRIVATE=true, since the server is on loopback): ordered, extracted results; retries;
 * item errors; and the two concurrency limits, counted by the server itself.
 */
import { Redis } from 'ioredis';
import { Keys } from '../../src/core/keys';
import { CITIES, WeatherServer, temperatureOf } from '../../bench/lib/weather-server';
import { startChunkmill, type ChunkmillHarness } from '../utils/chunkmill-harness';
import { testRedisUrl } from '../utils/redis';

const DELAY_MS = 150;

describe('fetch workloads', () => {
  let chunkmill: ChunkmillHarness;
  let server: WeatherServer;
  beforeAll(async () => {
    server = await new WeatherServer({ delayMs: DELAY_MS }).listen();
    chunkmill = await startChunkmill('fetch', { workerEnv: { FETCH_ALLOW_PRIVATE: 'true' } });
  });
  afterAll(async () => {
    await chunkmill?.close();
    await server?.close();
  });
  beforeEach(() => {
    server.closeIdleConnections();
    server.resetPeaks();
  });

  it('answers the 17 cities in order with their extracted temperatures, in about one round trip', async () => {
    const started = Date.now();
    const id = await chunkmill.api.submit({
      type: 'fetch',
      urls: CITIES.map((city) => server.weatherUrl(city)),
      extract: 'main.temp',
      concurrency: 17,
      perHostConcurrency: 17,
    });
    const answer = await chunkmill.api.results(id);
    const elapsedMs = Date.now() - started;
    expect(answer.status).toBe('completed');
    expect(answer.errors).toEqual([]);
    answer.results.forEach((result: any, index: number) => {
      expect(result).toEqual({
        url: server.weatherUrl(CITIES[index]),
        status: 200,
        ok: true,
        ms: expect.any(Number),
        bytes: expect.any(Number),
        value: temperatureOf(CITIES[index]),
      });
    });
    // All 17 in flight together: far below the 17 × 150 ms of a serial loop (generous for a loaded machine).
    expect(server.stats.maxInFlight).toBe(17);
    expect(elapsedMs).toBeLessThan(17 * DELAY_MS * 0.6);
  });

  it('gives the parsed JSON without extract, and a 404 as a result, not an error', async () => {
    const id = await chunkmill.api.submit({ type: 'fetch', urls: [server.weatherUrl('Zurich'), `${server.origin}/data/2.5/weather?q=Atlantis`] });
    const answer = await chunkmill.api.results(id);
    expect(answer.status).toBe('completed');
    expect(answer.results[0].value).toEqual({ name: 'Zurich', main: { temp: temperatureOf('Zurich'), humidity: 50 }, cod: 200 });
    expect(answer.results[1]).toMatchObject({ status: 404, ok: false, value: { cod: '404', message: 'city not found' } });
  });

  it('retries a 503 (honouring Retry-After) until it succeeds; a 503 past its retries is an ok:false result', async () => {
    const id = await chunkmill.api.submit({
      type: 'fetch',
      urls: [`${server.origin}/flaky?key=a&fail=2&delay=0`, `${server.origin}/flaky?key=b&fail=5&delay=0`],
      retries: 2,
      attempts: 1,
    });
    const answer = await chunkmill.api.results(id);
    expect(answer.results[0]).toMatchObject({ status: 200, ok: true, value: { attempt: 3 } });
    expect(answer.results[1]).toMatchObject({ status: 503, ok: false, value: { error: 'busy' } });
    expect(answer.status).toBe('completed');
  });

  it('turns a timeout, a refused connection, a body over the cap and a redirect loop into item errors', async () => {
    const id = await chunkmill.api.submit({
      type: 'fetch',
      requests: [
        { url: `${server.origin}/slow?delay=5000` },
        { url: 'http://127.0.0.1:1/nothing-listens-here' },
        { url: `${server.origin}/big?bytes=300000&delay=0` },
        { url: `${server.origin}/loop-a?delay=0` },
        { url: `${server.origin}/redirect?to=%2Fdata%2F2.5%2Fweather%3Fq%3DRome&delay=0`, method: 'GET', headers: { 'x-trace': '1' } },
      ],
      timeoutMs: 300,
      retries: 1,
      attempts: 1,
      maxResponseBytes: 100_000,
      extract: 'main.temp',
    });
    const answer = await chunkmill.api.results(id);
    expect(answer.status).toBe('failed');
    expect(answer.errors.map((error: any) => [error.index, error.code])).toEqual([
      [0, 'FETCH_TIMEOUT'],
      [1, 'FETCH_NETWORK'],
      [2, 'FETCH_TOO_LARGE'],
      [3, 'FETCH_REDIRECTS'],
    ]);
    expect(answer.results.slice(0, 4)).toEqual([null, null, null, null]);
    expect(answer.results[4]).toMatchObject({ status: 200, ok: true, value: temperatureOf('Rome') });
  });

  it('never opens more than perHostConcurrency connections to one origin (per process)', async () => {
    // A server of its own: no keep-alive connection of an earlier test counts here.
    const own = await new WeatherServer({ delayMs: 50 }).listen();
    try {
      const id = await chunkmill.api.submit({
        type: 'fetch',
        urls: Array.from({ length: 30 }, (_, index) => `${own.origin}/item/${index}`),
        concurrency: 30,
        perHostConcurrency: 3,
        chunkSize: 30,
      });
      const answer = await chunkmill.api.results(id);
      expect(answer.status).toBe('completed');
      expect(own.stats.requests).toBe(30);
      expect(own.stats.maxOpenConnections).toBeLessThanOrEqual(3);
      expect(own.stats.maxInFlight).toBe(3);
    } finally {
      await own.close();
    }
  });
});

describe('fetch: the workload-wide concurrency holds across two worker processes', () => {
  let chunkmill: ChunkmillHarness;
  let server: WeatherServer;
  afterAll(async () => {
    await chunkmill?.close();
    await server?.close();
  });

  it('keeps at most `concurrency` requests in flight although each process alone would allow many more', async () => {
    server = await new WeatherServer({ delayMs: 40 }).listen();
    chunkmill = await startChunkmill('fetch-limit', {
      workerEnv: { FETCH_ALLOW_PRIVATE: 'true', WORKER_PROCESSES: '2', WORKER_FETCH_CONCURRENCY: '4' },
    });
    // 12 chunks of 5: up to 2 processes × 4 chunks × 5 requests = 40 at once without the Redis limit.
    const id = await chunkmill.api.submit({
      type: 'fetch',
      urls: Array.from({ length: 60 }, (_, index) => `${server.origin}/item/${index}`),
      concurrency: 4,
      perHostConcurrency: 10,
      chunkSize: 5,
    });
    const answer = await chunkmill.api.results(id);
    expect(answer.status).toBe('completed');
    expect(server.stats.requests).toBe(60);
    expect(server.stats.maxInFlight).toBeLessThanOrEqual(4);
    expect(server.stats.maxInFlight).toBeGreaterThanOrEqual(3);
    // Every lease was given back.
    const redis = new Redis(testRedisUrl());
    try {
      expect(await redis.zcard(new Keys(chunkmill.prefix).workload(id).fetchLeases)).toBe(0);
    } finally {
      redis.disconnect();
    }
  });
});

describe('fetch and compute in one process', () => {
  let chunkmill: ChunkmillHarness;
  let server: WeatherServer;
  afterAll(async () => {
    await chunkmill?.close();
    await server?.close();
  });

  it('a fetch chunk runs on the event loop while a compute chunk keeps the only thread busy', async () => {
    server = await new WeatherServer({ delayMs: 100 }).listen();
    chunkmill = await startChunkmill('fetch-mixed', {
      workerEnv: { FETCH_ALLOW_PRIVATE: 'true', WORKER_PROCESSES: '1', WORKER_THREADS: '1' },
    });
    const spin = await chunkmill.api.submit({ type: 'compute', task: 'spin', inputs: [{ ms: 3000 }] });
    const deadline = Date.now() + 10_000;
    while ((await chunkmill.api.get(`/v1/workloads/${spin}`)).body.status !== 'running' && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const started = Date.now();
    const id = await chunkmill.api.submit({
      type: 'fetch',
      urls: CITIES.map((city) => server.weatherUrl(city)),
      extract: 'main.temp',
      concurrency: 17,
      perHostConcurrency: 17,
    });
    const answer = await chunkmill.api.results(id);
    expect(answer.status).toBe('completed');
    expect(Date.now() - started).toBeLessThan(1500);
    // The spin was still running: the fetch did not wait for the thread.
    expect((await chunkmill.api.get(`/v1/workloads/${spin}`)).body.status).toBe('running');
  });
});
