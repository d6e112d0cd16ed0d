/**
 * `/v1/arrays/:name` against a real Redis, producer in-process: bytes go in and come back exactly, and
 * every refusal (size, type, length, name) writes nothing. Array submissions are validated against the
 * stored arrays before anything is enqueued.
 */
import { Redis } from 'ioredis';
import { Keys } from '../../src/core/keys';
import { startProducerHarness, type ProducerHarness } from '../utils/producer-harness';
import { countKeys, testRedisUrl } from '../utils/redis';
import { validatingFetch } from '../utils/openapi-validator';

/** The producer's answers (bytes, stored arrays, refusals), checked against its OpenAPI document. */
const fetch = validatingFetch();

const MAX_ARRAY_BYTES = 64 * 1024;

function float64Bytes(values: number[]): Buffer {
  return Buffer.from(new Float64Array(values).buffer);
}

describe('arrays API', () => {
  let harness: ProducerHarness;
  let redis: Redis;

  beforeEach(async () => {
    harness = await startProducerHarness('arrays', { MAX_ARRAY_BYTES: String(MAX_ARRAY_BYTES) });
    redis = new Redis(testRedisUrl());
  });
  afterEach(async () => {
    redis.disconnect();
    await harness.close();
    expect(fetch.violations.splice(0).map((violation) => violation.message)).toEqual([]);
  });

  const put = (name: string, body: Buffer | string, contentType = 'application/octet-stream', query = '') =>
    fetch(`${harness.api.baseUrl}/v1/arrays/${name}${query}`, { method: 'PUT', headers: { 'content-type': contentType }, body });

  it('stores raw Float64 bytes and answers them back exactly, with a TTL', async () => {
    // Values whose bytes would not survive a round trip through JSON text unchanged: -0, NaN payloads, subnormals.
    const values = [1.5, -0, Number.MIN_VALUE, Number.MAX_VALUE, Math.PI, NaN, -Infinity, 1e-310];
    const bytes = float64Bytes(values);
    const stored = await put('vec_1', bytes, 'application/octet-stream', '?ttl=120');
    expect(stored.status).toBe(200);
    const body = (await stored.json()) as { expiresAt: string };
    expect(body).toEqual({ name: 'vec_1', length: values.length, bytes: bytes.length, expiresAt: expect.any(String) });
    expect(Date.parse(body.expiresAt) - Date.now()).toBeGreaterThan(100_000);
    const key = new Keys(harness.prefix).array('vec_1');
    expect(await redis.ttl(key)).toBeGreaterThan(100);
    expect(await redis.ttl(key)).toBeLessThanOrEqual(120);
    expect(Buffer.compare((await redis.getBuffer(key)) as Buffer, bytes)).toBe(0);

    const answer = await fetch(`${harness.api.baseUrl}/v1/arrays/vec_1`);
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toBe('application/octet-stream');
    expect(Buffer.compare(Buffer.from(await answer.arrayBuffer()), bytes)).toBe(0);
  });

  it('stores a multi-megabyte array and reads it back whole', async () => {
    const big = await startProducerHarness('arrays-big', { MAX_ARRAY_BYTES: String(16 * 1024 * 1024) });
    try {
      const values = Float64Array.from({ length: 1_100_000 }, (_, i) => i * 0.5 - 3);
      const bytes = Buffer.from(values.buffer);
      const stored = await fetch(`${big.api.baseUrl}/v1/arrays/big`, { method: 'PUT', headers: { 'content-type': 'application/octet-stream' }, body: bytes });
      expect(stored.status).toBe(200);
      const answer = await fetch(`${big.api.baseUrl}/v1/arrays/big`);
      expect(Buffer.compare(Buffer.from(await answer.arrayBuffer()), bytes)).toBe(0);
    } finally {
      await big.close();
    }
  });

  it('replaces an array with PUT and deletes it with DELETE', async () => {
    expect((await put('v', float64Bytes([1, 2]))).status).toBe(200);
    expect((await put('v', float64Bytes([3]))).status).toBe(200);
    const answer = await fetch(`${harness.api.baseUrl}/v1/arrays/v`);
    expect([...new Float64Array(await answer.arrayBuffer())]).toEqual([3]);
    expect((await harness.api.delete('/v1/arrays/v')).status).toBe(204);
    expect((await harness.api.delete('/v1/arrays/v')).status).toBe(404);
  });

  it('answers 404 for an array that does not exist', async () => {
    const answer = await harness.api.get('/v1/arrays/nothing_here');
    expect(answer.status).toBe(404);
    expect(answer.body.error.code).toBe('NOT_FOUND');
  });

  const refusals: Array<[string, () => Promise<Response>, number, string]> = [
    ['a body over MAX_ARRAY_BYTES', () => put('a', Buffer.alloc(MAX_ARRAY_BYTES + 8)), 413, 'PAYLOAD_TOO_LARGE'],
    ['JSON instead of bytes', () => put('a', '[1,2,3]', 'application/json'), 415, 'UNSUPPORTED_MEDIA_TYPE'],
    ['a length that is not a multiple of 8', () => put('a', Buffer.alloc(12)), 400, 'VALIDATION_FAILED'],
    ['an empty body', () => put('a', Buffer.alloc(0)), 400, 'VALIDATION_FAILED'],
    ['a bad name', () => put('a.b', Buffer.alloc(8)), 400, 'VALIDATION_FAILED'],
    ['a bad ttl', () => put('a', Buffer.alloc(8), 'application/octet-stream', '?ttl=0'), 400, 'VALIDATION_FAILED'],
  ];
  it.each(refusals)('refuses %s and writes nothing', async (_label, send, status, code) => {
    const answer = await send();
    expect(answer.status).toBe(status);
    expect(((await answer.json()) as { error: { code: string } }).error.code).toBe(code);
    expect(await countKeys(redis, `${harness.prefix}:array`)).toBe(0);
  });

  describe('array workloads at submission', () => {
    beforeEach(async () => {
      await put('x', float64Bytes([1, 2, 3, 4, 5]));
      await put('y', float64Bytes([5, 4, 3, 2, 1]));
      await put('short', float64Bytes([1, 2]));
    });

    it('cuts the arrays into items of elementsPerItem and creates the out array', async () => {
      const answer = await harness.api.post('/v1/workloads', { type: 'compute', task: 'mulArrays', arrays: { x: 'x', y: 'y', out: 'z' }, elementsPerItem: 2 });
      expect(answer.status).toBe(202);
      expect(answer.body).toMatchObject({ total: 3, chunks: 3 });
      const job = await harness.producer.queues.compute.getJob(`${answer.body.id}-2`);
      expect(job?.data).toMatchObject({ task: 'mulArrays', arrays: { x: 'x', y: 'y', out: 'z' }, inputs: [{ start: 4, end: 5 }] });
      const out = await fetch(`${harness.api.baseUrl}/v1/arrays/z`);
      expect([...new Float64Array(await out.arrayBuffer())]).toEqual([0, 0, 0, 0, 0]);
    });

    const invalid: Array<[string, Record<string, unknown>, string]> = [
      ['a missing array', { task: 'dot', arrays: { x: 'x', y: 'nope' } }, 'arrays.y'],
      ['arrays of different lengths', { task: 'dot', arrays: { x: 'x', y: 'short' } }, 'arrays'],
      ['a task that does not run over arrays', { task: 'sumSquares', arrays: { x: 'x' } }, 'task'],
      ['no out for mulArrays', { task: 'mulArrays', arrays: { x: 'x', y: 'y' } }, 'arrays.out'],
      ['out equal to an input', { task: 'mulArrays', arrays: { x: 'x', y: 'y', out: 'x' } }, 'arrays.out'],
      ['a y that sumArray does not use', { task: 'sumArray', arrays: { x: 'x', y: 'y' } }, 'arrays.y'],
      ['both inputs and arrays', { task: 'sumArray', arrays: { x: 'x' }, inputs: [1] }, 'inputs'],
      ['elementsPerItem without arrays', { task: 'sumSquares', inputs: [1], elementsPerItem: 4 }, 'elementsPerItem'],
      ['a bad array name', { task: 'sumArray', arrays: { x: 'x y' } }, 'arrays.x'],
    ];
    it.each(invalid)('refuses %s and enqueues nothing', async (_label, fields, path) => {
      const answer = await harness.api.post('/v1/workloads', { type: 'compute', ...fields });
      expect(answer.status).toBe(400);
      expect(answer.body.error.details.map((detail: { path: string }) => detail.path)).toContain(path);
      const counts = await harness.producer.queues.compute.getJobCounts('waiting', 'prioritized');
      expect(counts.waiting + counts.prioritized).toBe(0);
      expect(await countKeys(redis, `${harness.prefix}:wl`)).toBe(0);
      expect(await countKeys(redis, `${harness.prefix}:array:{z}`)).toBe(0);
    });
  });
});
