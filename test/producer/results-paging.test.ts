/**
 * The results answer in pages (`offset`, `limit`) and as an NDJSON stream (`Accept: application/x-ndjson`):
 * against a real worker host for finished workloads (values, errors, the reduction over every item), and
 * with the producer alone for what it refuses and for a workload that vanishes while it streams.
 */
import { Redis } from 'ioredis';
import { Keys } from '../../src/core/keys';
import { startChunkmill, type ChunkmillHarness } from '../utils/chunkmill-harness';
import { startProducerHarness, type ProducerHarness } from '../utils/producer-harness';
import { countKeys, testRedisUrl } from '../utils/redis';
import { validatingFetch } from '../utils/openapi-validator';

const NDJSON = { accept: 'application/x-ndjson' };

/**
 * The producer's answers, checked against its OpenAPI document: an NDJSON stream still arrives line by line
 * (its status and media type checked at once, its lines once it has ended; one left mid-stream is not).
 */
const fetch = validatingFetch();
afterEach(() => expect(fetch.violations.splice(0).map((violation) => violation.message)).toEqual([]));

/** Reads an NDJSON answer line by line as it arrives; `pauseAfterFirst` runs after the first line. */
async function readNdjson(url: string, pauseAfterFirst?: () => Promise<void>): Promise<{ status: number; type: string | null; lines: any[] }> {
  const response = await fetch(url, { headers: NDJSON });
  const lines: any[] = [];
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { done, value } = await reader.read();
    buffer += done ? decoder.decode() : decoder.decode(value, { stream: true });
    const parts = buffer.split('\n');
    buffer = parts.pop()!;
    for (const part of parts) {
      lines.push(JSON.parse(part));
      if (lines.length === 1 && pauseAfterFirst) await pauseAfterFirst();
    }
    if (done) break;
  }
  expect(buffer).toBe('');
  return { status: response.status, type: response.headers.get('content-type'), lines };
}

describe('results in pages and as NDJSON, from a real worker', () => {
  const TOTAL = 100_000;
  const SUM = (TOTAL * (TOTAL - 1)) / 2;
  let chunkmill: ChunkmillHarness;
  let big: string;
  beforeAll(async () => {
    chunkmill = await startChunkmill('results-paging');
    // throwsOn answers its input: item i's value is i.
    big = await chunkmill.api.submit({ type: 'compute', task: 'throwsOn', inputs: Array.from({ length: TOTAL }, (_, i) => i), chunkSize: 1000, reduce: 'sum' });
    expect((await chunkmill.api.results(big, 120_000)).status).toBe('completed');
  }, 180_000);
  afterAll(async () => chunkmill.close());

  it('a page holds its items only; total, offset and the reduction over every item stay in the body', async () => {
    const page = await chunkmill.api.get(`/v1/workloads/${big}/results?offset=99990&limit=20`);
    expect(page.status).toBe(200);
    expect(page.body).toEqual({
      id: big,
      status: 'completed',
      total: TOTAL,
      offset: 99990,
      results: Array.from({ length: 10 }, (_, i) => 99990 + i),
      errors: [],
      reduced: SUM,
    });
    expect(Object.keys(page.body)).toEqual(['id', 'status', 'total', 'offset', 'results', 'errors', 'reduced']);

    const first = await chunkmill.api.get(`/v1/workloads/${big}/results?limit=3`);
    expect(first.body).toMatchObject({ offset: 0, results: [0, 1, 2], reduced: SUM });
    const middle = await chunkmill.api.get(`/v1/workloads/${big}/results?offset=1500&limit=1000`);
    expect(middle.body.results).toEqual(Array.from({ length: 1000 }, (_, i) => 1500 + i));
  });

  it('an offset at or past the total is an empty page that still tells the total', async () => {
    for (const offset of [TOTAL, TOTAL + 1, 10 * TOTAL]) {
      const page = await chunkmill.api.get(`/v1/workloads/${big}/results?offset=${offset}&limit=5`);
      expect(page.body).toEqual({ id: big, status: 'completed', total: TOTAL, offset, results: [], errors: [], reduced: SUM });
    }
  });

  it('without offset and limit the answer is every item', async () => {
    const whole = await chunkmill.api.get(`/v1/workloads/${big}/results`);
    expect(whole.body).toMatchObject({ total: TOTAL, offset: 0, reduced: SUM });
    expect(whole.body.results).toHaveLength(TOTAL);
    expect(whole.body.results[TOTAL - 1]).toBe(TOTAL - 1);
    const largest = await chunkmill.api.get(`/v1/workloads/${big}/results?limit=100000`);
    expect(largest.body.results).toEqual(whole.body.results);
  });

  it(`streams a ${TOTAL}-item workload as NDJSON: the workload line, then one line per item in index order`, async () => {
    const { status, type, lines } = await readNdjson(`${chunkmill.api.baseUrl}/v1/workloads/${big}/results`);
    expect(status).toBe(200);
    expect(type).toBe('application/x-ndjson; charset=utf-8');
    expect(lines[0]).toEqual({ id: big, status: 'completed', total: TOTAL, completed: TOTAL, failed: 0 });
    expect(lines).toHaveLength(TOTAL + 1);
    lines.slice(1).forEach((line, i) => {
      if (line.index !== i || line.value !== i) throw new Error(`line ${i + 1} is ${JSON.stringify(line)}`);
    });

    const tail = await readNdjson(`${chunkmill.api.baseUrl}/v1/workloads/${big}/results?offset=99998&limit=5`);
    expect(tail.lines.slice(1)).toEqual([
      { index: 99998, value: 99998 },
      { index: 99999, value: 99999 },
    ]);
    const past = await readNdjson(`${chunkmill.api.baseUrl}/v1/workloads/${big}/results?offset=${TOTAL}`);
    expect(past.lines).toEqual([lines[0]]);
  });

  it('a client that leaves mid-stream stops it; the producer goes on answering', async () => {
    const controller = new AbortController();
    const response = await fetch(`${chunkmill.api.baseUrl}/v1/workloads/${big}/results`, { headers: NDJSON, signal: controller.signal });
    const reader = response.body!.getReader();
    expect((await reader.read()).done).toBe(false);
    controller.abort();
    await reader.cancel().catch(() => undefined);
    expect((await chunkmill.api.get(`/v1/workloads/${big}/results?limit=1`)).body.results).toEqual([0]);
  });

  it("a page's errors are its own; NDJSON marks failed items with their error", async () => {
    const inputs = [0, -1, 2, 3, 4, 5, 6, -7, 8, 9];
    const id = await chunkmill.api.submit({ type: 'compute', task: 'throwsOn', inputs, chunkSize: 3, attempts: 1 });
    expect((await chunkmill.api.results(id)).status).toBe('failed');
    const page = await chunkmill.api.get(`/v1/workloads/${id}/results?offset=5&limit=4`);
    expect(page.body).toEqual({
      id,
      status: 'failed',
      total: 10,
      offset: 5,
      results: [5, 6, null, 8],
      errors: [{ index: 7, code: 'TASK_ERROR', message: expect.stringContaining('negative input -7') }],
      reduced: null,
    });
    const { lines } = await readNdjson(`${chunkmill.api.baseUrl}/v1/workloads/${id}/results?offset=6&limit=2`);
    expect(lines).toEqual([
      { id, status: 'failed', total: 10, completed: 8, failed: 2 },
      { index: 6, value: 6 },
      { index: 7, value: null, error: { code: 'TASK_ERROR', message: expect.stringContaining('negative input -7') } },
    ]);
  });
});

describe('results paging with the producer alone', () => {
  let harness: ProducerHarness;
  let redis: Redis;
  beforeEach(async () => {
    harness = await startProducerHarness('results-paging-alone');
    redis = new Redis(testRedisUrl());
  });
  afterEach(async () => {
    redis.disconnect();
    await harness.close();
  });

  const bad = ['offset=-1', 'offset=1.5', 'offset=abc', 'limit=0', 'limit=100001', 'limit=2.5', 'limit=-3', 'offset=1&offset=2'];

  it.each(bad)('refuses %s with the 400 envelope, as JSON and as NDJSON, and writes nothing', async (query) => {
    const id = await harness.api.submit({ type: 'compute', task: 'sumSquares', inputs: [1, 2, 3] });
    const keysBefore = await countKeys(redis, harness.prefix);
    for (const headers of [{}, NDJSON]) {
      const answer = await harness.api.request('GET', `/v1/workloads/${id}/results?${query}`, undefined, headers);
      expect(answer.status).toBe(400);
      expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
      expect(answer.body.error).toMatchObject({ code: 'VALIDATION_FAILED', details: [expect.objectContaining({ path: query.split('=')[0] })] });
    }
    expect(await countKeys(redis, harness.prefix)).toBe(keysBefore);
  });

  it('items without an outcome yet are null in a page and have a line of their own in the stream', async () => {
    const id = await harness.api.submit({ type: 'compute', task: 'sumSquares', inputs: [1, 2, 3, 4, 5], chunkSize: 2 });
    const page = await harness.api.get(`/v1/workloads/${id}/results?offset=3`);
    expect(page.body).toEqual({ id, status: 'queued', total: 5, offset: 3, results: [null, null], errors: [], reduced: null });
    const { lines } = await readNdjson(`${harness.api.baseUrl}/v1/workloads/${id}/results?offset=3`);
    expect(lines).toEqual([
      { id, status: 'queued', total: 5, completed: 0, failed: 0 },
      { index: 3, value: null },
      { index: 4, value: null },
    ]);
  });

  it('an unknown workload is a 404 before any stream starts', async () => {
    const answer = await harness.api.request('GET', '/v1/workloads/no-such-id/results', undefined, NDJSON);
    expect([answer.status, answer.body.error.code]).toEqual([404, 'NOT_FOUND']);
  });

  it('a workload that vanishes mid-stream ends the stream with a last line holding the error', async () => {
    const total = 1_000_000;
    const id = await harness.api.submit({ type: 'compute', task: 'sumSquares', inputs: new Array(total).fill(0), chunkSize: 10_000 });
    const wl = new Keys(harness.prefix).workload(id);
    // The client takes the first line, then nothing while the state goes: the producer waits for it (backpressure).
    const { lines } = await readNdjson(`${harness.api.baseUrl}/v1/workloads/${id}/results`, async () => {
      await new Promise((resolve) => setTimeout(resolve, 300));
      await redis.del(wl.meta, wl.results, wl.chunks, wl.feed, wl.doneChunks);
    });
    expect(lines[0]).toEqual({ id, status: 'queued', total, completed: 0, failed: 0 });
    expect(lines.length).toBeLessThan(total / 2);
    expect(lines.at(-1)).toEqual({ error: { code: 'WORKLOAD_LOST', message: expect.any(String), details: [{ id }] } });
    lines.slice(1, -1).forEach((line, i) => expect(line).toEqual({ index: i, value: null }));
  }, 60_000);
});
