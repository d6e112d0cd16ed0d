/**
 * A planted secret: a fetch workload's `Authorization` and API-key headers reach the upstream server,
 * and are found nowhere else. While the workload runs, the only Redis key under the prefix that holds
 * them is the workload's `request-headers` hash (not the chunk jobs bull-board shows, not the chunk
 * payloads); once it ends, no key does. Results, the event stream, and every log line of the producer
 * and the worker host never hold them. Workers reach the 127.0.0.1 server with FETCH_ALLOW_PRIVATE=true.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { startChunkmill, eventually, type ChunkmillHarness } from '../utils/chunkmill-harness';
import { testRedisUrl } from '../utils/redis';
import { validatingFetch } from '../utils/openapi-validator';

const SECRET = `UPSTREAM-SECRET-${randomBytes(8).toString('hex')}`;
const API_KEY = `KEY-SECRET-${randomBytes(8).toString('hex')}`;

/** Every key under `prefix` whose name or content holds `needle` (every Redis type chunkmill and BullMQ use). */
async function keysHolding(redis: Redis, prefix: string, needle: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    for (const key of keys) {
      const type = await redis.type(key);
      let content: unknown;
      if (type === 'string') content = await redis.getBuffer(key).then((value) => value?.toString('latin1'));
      else if (type === 'hash') content = await redis.hgetall(key);
      else if (type === 'list') content = await redis.lrange(key, 0, -1);
      else if (type === 'set') content = await redis.smembers(key);
      else if (type === 'zset') content = await redis.zrange(key, 0, -1);
      else if (type === 'stream') content = await redis.xrange(key, '-', '+');
      if (key.includes(needle) || JSON.stringify(content ?? null).includes(needle)) found.push(key);
    }
  } while (cursor !== '0');
  return found;
}

describe('fetch secrets', () => {
  let chunkmill: ChunkmillHarness;
  let redis: Redis;
  let server: http.Server;
  let origin: string;
  const producerLog: string[] = [];
  const received: Array<{ path: string; authorization?: string; apiKey?: string }> = [];

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      received.push({ path: req.url!, authorization: req.headers.authorization, apiKey: req.headers['x-api-key'] as string | undefined });
      const delayMs = Number(new URL(req.url!, 'http://x').searchParams.get('delay') ?? 0);
      setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}'), delayMs);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    chunkmill = await startChunkmill('fetch-secrets', { workerEnv: { FETCH_ALLOW_PRIVATE: 'true', LOG_LEVEL: 'trace' }, producerLogLines: producerLog });
    redis = new Redis(testRedisUrl());
  });
  afterAll(async () => {
    redis?.disconnect();
    await chunkmill?.close();
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
  });

  it("sends the headers upstream and keeps them only in the workload's request-headers hash, until it ends", async () => {
    const headers = { Authorization: `Bearer ${SECRET}`, 'X-Api-Key': API_KEY };
    const requests = Array.from({ length: 4 }, (_, i) => ({ url: `${origin}/item/${i}?delay=1500`, headers }));
    const id = await chunkmill.api.submit({ type: 'fetch', requests, chunkSize: 1, concurrency: 4 });

    // The event stream, read whole while the workload runs (and checked against the OpenAPI document once it has ended).
    const checked = validatingFetch();
    const events = checked(`${chunkmill.api.baseUrl}/v1/workloads/${id}/events`).then((response) => response.text());

    // In flight: the only key holding the secrets is the workload's own header hash.
    await eventually(() => received.length >= 1, 10_000);
    const running = `${chunkmill.prefix}:wl:{${id}}:request-headers`;
    expect(await keysHolding(redis, chunkmill.prefix, SECRET)).toEqual([running]);
    expect(await keysHolding(redis, chunkmill.prefix, API_KEY)).toEqual([running]);
    const job = await chunkmill.producer.queues.fetch.getJob(`${id}-0`);
    expect(JSON.stringify(job?.data)).not.toContain(SECRET);

    const results = await chunkmill.api.results(id);
    expect(results.status).toBe('completed');
    expect(received.filter((request) => request.path.startsWith('/item/'))).toHaveLength(4);
    for (const request of received) expect(request).toMatchObject({ authorization: `Bearer ${SECRET}`, apiKey: API_KEY });

    // Ended: no key holds them any more; neither do the results, the events or any log line.
    expect(await keysHolding(redis, chunkmill.prefix, SECRET)).toEqual([]);
    expect(await keysHolding(redis, chunkmill.prefix, API_KEY)).toEqual([]);
    expect(JSON.stringify(results)).not.toContain(SECRET);
    const stream = await events;
    expect(stream).toContain('event: done');
    expect(stream).not.toContain(SECRET);
    expect(checked.violations.map((violation) => violation.message)).toEqual([]);
    const logLines = [...producerLog, ...chunkmill.worker.output];
    expect(logLines.length).toBeGreaterThan(5);
    expect(logLines.filter((line) => line.includes(SECRET) || line.includes(API_KEY))).toEqual([]);
  });

  it("a cancelled workload's headers are deleted with it", async () => {
    const id = await chunkmill.api.submit({ type: 'fetch', requests: [{ url: `${origin}/slow?delay=3000`, headers: { Authorization: `Bearer ${SECRET}` } }] });
    expect(await redis.exists(`${chunkmill.prefix}:wl:{${id}}:request-headers`)).toBe(1);
    expect((await chunkmill.api.delete(`/v1/workloads/${id}`)).status).toBe(200);
    expect(await keysHolding(redis, chunkmill.prefix, SECRET)).toEqual([]);
  });

  it('a redirect to a URL with credentials is not followed, and the error does not repeat them', async () => {
    const redirecting = http.createServer((_req, res) => res.writeHead(302, { location: `http://user:${SECRET}@127.0.0.1:1/x` }).end());
    await new Promise<void>((resolve) => redirecting.listen(0, '127.0.0.1', resolve));
    try {
      const id = await chunkmill.api.submit({ type: 'fetch', urls: [`http://127.0.0.1:${(redirecting.address() as AddressInfo).port}/go`] });
      const results = await chunkmill.api.results(id);
      expect(results.errors).toEqual([{ index: 0, code: 'FETCH_REDIRECTS', message: 'Redirect to a URL with a user name or password: not followed' }]);
      expect(JSON.stringify(results)).not.toContain(SECRET);
    } finally {
      redirecting.closeAllConnections();
      await new Promise((resolve) => redirecting.close(resolve));
    }
  });

  it("a redirect loop's URL, key included, is in its owner's results and in no log line", async () => {
    const looping = http.createServer((req, res) => res.writeHead(302, { location: `${req.url!.startsWith('/a') ? '/b' : '/a'}?key=${API_KEY}` }).end());
    await new Promise<void>((resolve) => looping.listen(0, '127.0.0.1', resolve));
    const loopOrigin = `http://127.0.0.1:${(looping.address() as AddressInfo).port}`;
    try {
      const id = await chunkmill.api.submit({ type: 'fetch', urls: [`${loopOrigin}/a?key=${API_KEY}`] });
      const results = await chunkmill.api.results(id);
      expect(results.errors).toEqual([{ index: 0, code: 'FETCH_REDIRECTS', message: `Redirect loop: ${loopOrigin}/a?key=${API_KEY} was already visited` }]);
      // The worker logs at trace level here: still not a line with the key.
      expect([...producerLog, ...chunkmill.worker.output].filter((line) => line.includes(API_KEY))).toEqual([]);
    } finally {
      looping.closeAllConnections();
      await new Promise((resolve) => looping.close(resolve));
    }
  });
});
