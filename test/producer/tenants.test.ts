/**
 * Tenants against a real Redis, producer in-process: two tenants (one named in API_TOKENS, one a bare
 * token from API_TOKENS_FILE) and an admin (ADMIN_TOKENS), across every /v1 route. Own → 2xx, another
 * tenant's → 404 exactly like an unknown id, an admin's → 2xx everywhere, no token or a bad one → 401.
 * Idempotency-Keys and the rate limit are per tenant; Redis holds tenant ids, never tokens.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { digestTenant } from '../../src/core/tenants';
import { ApiClient, type ApiAnswer } from '../utils/api-client';
import { startProducerHarness, type ProducerHarness } from '../utils/producer-harness';
import { testRedisUrl } from '../utils/redis';
import { validatingFetch } from '../utils/openapi-validator';

/** The producer's answers that ApiClient does not read (bytes, streams), checked against its OpenAPI document; a stream by status and media type. */
const fetch = validatingFetch();

const TOKENS = { alice: 'alice-tok-6c1f0e9a8b7d', bob: 'bob-tok-2d4e6f8a0c1b', root: 'root-tok-9a8b7c6d5e4f' };
const notebook = { type: 'compute', task: 'sumSquares', inputs: [1, 2, 3], chunkSize: 1 };
const float64 = (values: number[]): Buffer => Buffer.from(new Float64Array(values).buffer);

type Who = 'alice' | 'bob' | 'root';

describe('tenants', () => {
  let harness: ProducerHarness;
  let redis: Redis;
  let tokenFile: string;
  type Caller = Who | 'nobody' | 'wrong';
  const tokenOf = (who: Caller): string | undefined => (who === 'nobody' ? undefined : who === 'wrong' ? 'not-a-token-at-all' : TOKENS[who]);
  const client = (who: Caller): ApiClient => new ApiClient(harness.api.baseUrl, tokenOf(who));

  beforeAll(async () => {
    tokenFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'chunkmill-tenants-')), 'tokens');
    fs.writeFileSync(tokenFile, `# bob's token, bare: its tenant is a digest of it\n${TOKENS.bob}\n`);
    harness = await startProducerHarness('tenants', {
      API_TOKENS: `alice:${TOKENS.alice}`,
      API_TOKENS_FILE: tokenFile,
      ADMIN_TOKENS: `root:${TOKENS.root}`,
    });
    redis = new Redis(testRedisUrl());
  });
  afterAll(async () => {
    redis?.disconnect();
    await harness?.close();
    fs.rmSync(path.dirname(tokenFile), { recursive: true, force: true });
  });
  afterEach(() => expect(fetch.violations.splice(0).map((violation) => violation.message)).toEqual([]));

  /** A request that answers as soon as the headers are in (an event stream of a queued workload never ends). */
  async function status(who: Caller, method: string, url: string, body?: Buffer | string, contentType?: string): Promise<ApiAnswer> {
    const controller = new AbortController();
    const token = tokenOf(who);
    const response = await fetch(`${harness.api.baseUrl}${url}`, {
      method,
      signal: controller.signal,
      headers: {
        ...(contentType ? { 'content-type': contentType } : {}),
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      body,
    });
    let parsed: unknown;
    if ((response.headers.get('content-type') ?? '').startsWith('text/event-stream')) controller.abort();
    else {
      const text = await response.text();
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = text;
      }
    }
    return { status: response.status, body: parsed, headers: response.headers };
  }

  /** Every route that names a workload, as [label, method, path]. */
  const workloadRoutes = (id: string): Array<[string, string, string]> => [
    ['GET workload', 'GET', `/v1/workloads/${id}`],
    ['GET results', 'GET', `/v1/workloads/${id}/results`],
    ['GET events', 'GET', `/v1/workloads/${id}/events`],
    ['DELETE workload', 'DELETE', `/v1/workloads/${id}`],
  ];
  const arrayRoutes = (name: string): Array<[string, string, string]> => [
    ['GET array', 'GET', `/v1/arrays/${name}`],
    ['DELETE array', 'DELETE', `/v1/arrays/${name}`],
  ];

  it("the matrix: own → 2xx, another tenant's → 404 like an unknown id, admin → 2xx, no or bad token → 401", async () => {
    const owners: Who[] = ['alice', 'bob', 'root'];
    const rows: string[] = [];
    const expected: string[] = [];
    for (const owner of owners) {
      for (const caller of [...owners, 'nobody', 'wrong'] as const) {
        // A fresh workload and array of the owner's per caller: a DELETE cancels or removes them.
        const id = await client(owner).submit(notebook);
        const array = `arr-${owner}`;
        expect((await status(owner, 'PUT', `/v1/arrays/${array}`, float64([1, 2]), 'application/octet-stream')).status).toBe(200);
        const unknown = await status(caller === 'nobody' || caller === 'wrong' ? owner : caller, 'GET', '/v1/workloads/no-such-workload');
        for (const [label, method, url] of [...workloadRoutes(id), ...arrayRoutes(array)]) {
          const answer = await status(caller, method, url);
          rows.push(`${caller} → ${owner}'s: ${label} ${answer.status}`);
          const isArray = label.includes('array');
          // Arrays are named per tenant: an admin's `arr-alice` is its own name, which it never made.
          const sees = caller === owner || (caller === 'root' && !isArray);
          const want = caller === 'nobody' || caller === 'wrong' ? 401 : sees ? (method === 'DELETE' && isArray ? 204 : 200) : 404;
          expected.push(`${caller} → ${owner}'s: ${label} ${want}`);
          if (want === 404 && !isArray) {
            // Exactly the answer for an id that does not exist, but for the id.
            expect(answer.body).toEqual({ error: { ...unknown.body.error, message: `No workload with id ${id}.` } });
            expect(unknown.body.error.message).toBe('No workload with id no-such-workload.');
          }
          if (want === 401) expect(answer.body.error.code).toBe('UNAUTHORIZED');
        }
      }
    }
    expect(rows).toEqual(expected);
  });

  it('routes without ids: submit, list (own only; an admin sees all), tasks, workers', async () => {
    const ids: Record<Who, string> = {
      alice: await client('alice').submit(notebook),
      bob: await client('bob').submit(notebook),
      root: await client('root').submit(notebook),
    };
    const listed = async (who: Who): Promise<string[]> =>
      ((await client(who).get('/v1/workloads?limit=1000')).body.workloads as Array<{ id: string }>).map((w) => w.id);
    expect(await listed('alice')).toContain(ids.alice);
    expect(await listed('alice')).not.toContain(ids.bob);
    expect(await listed('alice')).not.toContain(ids.root);
    expect(await listed('bob')).toContain(ids.bob);
    expect(await listed('bob')).not.toContain(ids.alice);
    expect(await listed('root')).toEqual(expect.arrayContaining([ids.alice, ids.bob, ids.root]));
    for (const who of ['alice', 'bob', 'root'] as const) {
      expect((await client(who).get('/v1/tasks')).status).toBe(200);
      expect((await client(who).get('/v1/workers')).status).toBe(200);
    }
    for (const who of ['nobody', 'wrong'] as const) {
      for (const [method, url] of [
        ['POST', '/v1/workloads'],
        ['GET', '/v1/workloads'],
        ['GET', '/v1/tasks'],
        ['GET', '/v1/workers'],
        ['PUT', '/v1/arrays/x'],
      ]) {
        const answer = await client(who).request(method, url, method === 'POST' ? notebook : undefined);
        expect([`${who} ${method} ${url}`, answer.status]).toEqual([`${who} ${method} ${url}`, 401]);
      }
    }

    // The record names the tenant (a name, or the digest of a bare token), never a token.
    expect(await redis.hget(`${harness.prefix}:wl:{${ids.alice}}:meta`, 'tenant')).toBe('alice');
    expect(await redis.hget(`${harness.prefix}:wl:{${ids.bob}}:meta`, 'tenant')).toBe(digestTenant(TOKENS.bob));
    expect(await redis.hget(`${harness.prefix}:wl:{${ids.root}}:meta`, 'tenant')).toBe('root');
    const keys = await redis.keys(`${harness.prefix}:*`);
    for (const token of Object.values(TOKENS)) expect(keys.filter((key) => key.includes(token))).toEqual([]);
  });

  it('named arrays belong to their tenant: two tenants\' "x" are two arrays, and array workloads read their own', async () => {
    const put = (who: Who, name: string, values: number[]) => status(who, 'PUT', `/v1/arrays/${name}`, float64(values), 'application/octet-stream');
    expect((await put('alice', 'x', [1, 2, 3])).body).toMatchObject({ name: 'x', length: 3 });
    expect((await put('bob', 'x', [10, 20])).body).toMatchObject({ name: 'x', length: 2 });
    const read = async (who: Who, name: string) => [
      ...new Float64Array(
        await (await fetch(`${harness.api.baseUrl}/v1/arrays/${name}`, { headers: { authorization: `Bearer ${TOKENS[who]}` } })).arrayBuffer(),
      ),
    ];
    expect(await read('alice', 'x')).toEqual([1, 2, 3]);
    expect(await read('bob', 'x')).toEqual([10, 20]);
    // bob's workload over "x" sees bob's 2 elements; alice has no "y", so hers is refused.
    const bobs = await client('bob').post('/v1/workloads', { type: 'compute', task: 'sumArray', arrays: { x: 'x' }, elementsPerItem: 1 });
    expect(bobs.body).toMatchObject({ total: 2 });
    const job = await harness.producer.queues.compute.getJob(`${bobs.body.id}-0`);
    expect((job?.data as { arrays?: unknown } | undefined)?.arrays).toEqual({ x: `${digestTenant(TOKENS.bob)}/x` });
    await put('bob', 'y', [1, 1]);
    const alices = await client('alice').post('/v1/workloads', { type: 'compute', task: 'dot', arrays: { x: 'x', y: 'y' } });
    expect(alices.status).toBe(400);
    expect(alices.body.error.details).toEqual([{ path: 'arrays.y', message: 'no array named "y" (it may have expired)' }]);
  });

  it('Idempotency-Keys are per tenant: the same key from two tenants makes two workloads', async () => {
    const headers = { 'idempotency-key': 'shared-key-1' };
    const alice = await client('alice').post('/v1/workloads', notebook, headers);
    const bob = await client('bob').post('/v1/workloads', notebook, headers);
    expect([alice.status, bob.status]).toEqual([202, 202]);
    expect(alice.body.id).not.toBe(bob.body.id);
    const again = await client('alice').post('/v1/workloads', notebook, headers);
    expect([again.status, again.body.id]).toEqual([200, alice.body.id]);
  });
});

describe('tenants: configuration and rate limits', () => {
  let harness: ProducerHarness | undefined;
  afterEach(async () => {
    await harness?.close();
    harness = undefined;
  });

  it('limits per tenant: two tokens of one tenant share its limit, another tenant has its own', async () => {
    harness = await startProducerHarness('tenant-rate', { API_TOKENS: 'carol:c-one-1a2b3c,carol:c-two-4d5e6f, dave:d-one-7a8b9c', RATE_LIMIT_PER_MINUTE: '5' });
    const intoWindow = Date.now() % 60_000;
    if (intoWindow > 55_000) await new Promise((resolve) => setTimeout(resolve, 60_500 - intoWindow));
    const get = (token: string) => new ApiClient(harness!.api.baseUrl, token).get('/v1/tasks');
    const statuses: number[] = [];
    for (const token of ['c-one-1a2b3c', 'c-two-4d5e6f', 'c-one-1a2b3c', 'c-two-4d5e6f', 'c-one-1a2b3c', 'c-two-4d5e6f'])
      statuses.push((await get(token)).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
    expect((await get('d-one-7a8b9c')).status).toBe(200);
  });

  it('without tokens: one open tenant that sees everything', async () => {
    harness = await startProducerHarness('tenant-open');
    const id = await harness.api.submit(notebook);
    expect((await harness.api.get(`/v1/workloads/${id}`)).status).toBe(200);
    expect((await harness.api.get('/v1/workloads')).body.workloads.map((w: { id: string }) => w.id)).toEqual([id]);
  });
});
