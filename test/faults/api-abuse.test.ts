/**
 * Fault scenarios 10, 11 and 12: what clients send wrong. Repeated and concurrent Idempotency-Keys,
 * arbitrary bytes and JSON to every route (property-based, seeded), and missing, wrong or revoked
 * tokens and a per-token rate limit. Each scenario has its own redis-server and producer process.
 */
import fc from 'fast-check';
import type { Redis } from 'ioredis';
import { expectValues } from '../utils/exactly-once-audit';
import { FaultCluster } from '../utils/fault-cluster';
import { eventually } from '../utils/chunkmill-harness';
import { validatingFetch } from '../utils/openapi-validator';

jest.setTimeout(120_000);

const notebook = { type: 'compute', task: 'sumSquares', inputs: new Array(20).fill(2000), chunkSize: 3 };
const notebookResults = expectValues(new Array(20).fill(2664667000));

/** Every /v1 route (and one that does not exist) with a harmless request. */
const V1_ROUTES: Array<{ method: string; path: string; body?: string }> = [
  { method: 'POST', path: '/v1/workloads', body: JSON.stringify(notebook) },
  { method: 'GET', path: '/v1/workloads' },
  { method: 'GET', path: '/v1/workloads/some-id' },
  { method: 'GET', path: '/v1/workloads/some-id/results' },
  { method: 'GET', path: '/v1/workloads/some-id/events' },
  { method: 'DELETE', path: '/v1/workloads/some-id' },
  { method: 'GET', path: '/v1/tasks' },
  { method: 'GET', path: '/v1/no-such-route' },
];

/** Every answer, the refusals of malformed requests too, is checked against the OpenAPI document. */
const fetch = validatingFetch();

interface RawAnswer {
  status: number;
  body: any;
  headers: Headers;
}

async function send(baseUrl: string, method: string, path: string, body?: string | Uint8Array, headers: Record<string, string> = {}): Promise<RawAnswer> {
  const response = await fetch(`${baseUrl}${path}`, { method, headers, body: method === 'GET' || method === 'HEAD' ? undefined : body });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // an event stream, or nothing
  }
  return { status: response.status, body: parsed, headers: response.headers };
}

describe('fault scenarios: what clients send wrong', () => {
  let cluster: FaultCluster | undefined;
  afterEach(async () => {
    await cluster?.close();
    cluster = undefined;
    expect(fetch.violations.splice(0).map((violation) => violation.message)).toEqual([]);
  });

  it('10. the same Idempotency-Key twice, and twenty times at once, gives one workload', async () => {
    cluster = await FaultCluster.start('s10');
    const first = await cluster.submit(notebook, notebookResults, { 'idempotency-key': 'once' });
    const again = await cluster.submit(notebook, notebookResults, { 'idempotency-key': 'once' });
    expect(first.status).toBe(202);
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(first.body.id);
    expect((await cluster.submit({ ...notebook, chunkSize: 4 }, notebookResults, { 'idempotency-key': 'once' })).status).toBe(409);

    const racing = { ...notebook, inputs: [1, 2, 3, 4, 5, 6, 7], chunkSize: 2 };
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => cluster!.submit(racing, expectValues([0, 1, 5, 14, 30, 55, 91]), { 'idempotency-key': 'racing' })),
    );
    expect(answers.filter((answer) => answer.status === 202)).toHaveLength(1);
    expect(answers.every((answer) => answer.status === 202 || answer.status === 200)).toBe(true);
    expect(new Set(answers.map((answer) => answer.body.id)).size).toBe(1);

    const redis = cluster.connect();
    expect(await redis.zcard('chunkmill:workloads')).toBe(2);
    const audit = await cluster.ledger.audit('10 idempotency (sequential, 20 concurrent)');
    expect(audit).toMatchObject({ workloads: 2, lost: 0, countedTwice: 0, problems: [] });
    expect(await cluster.ledger.unaccepted()).toEqual({ workloads: [], jobs: [] });
  });

  describe('11. bad input', () => {
    let fuzzed: FaultCluster;
    let redis: Redis;
    let baseUrl: string;
    beforeAll(async () => {
      // No worker: whatever is accepted stays in Redis, so that every write can be seen.
      fuzzed = await FaultCluster.start('s11', { workers: 0 });
      redis = fuzzed.connect();
      await keyCountSettled(redis);
      baseUrl = fuzzed.api.baseUrl;
    });
    afterAll(async () => fuzzed?.close());

    /**
     * Keys written by requests, leaving out /readyz's write probe: it writes by design (three keys that
     * expire in 10 s), and whether they are still there from an earlier probe depends on timing.
     */
    const writtenKeys = async (): Promise<number> => (await redis.dbsize()) - (await redis.keys('*:write-probe:*')).length;

    /** Sends a request and checks the answer is an allowed one, and that only a 202 wrote anything. */
    async function probe(
      method: string,
      path: string,
      body: string | Uint8Array | undefined,
      headers: Record<string, string>,
      allowed: number[],
    ): Promise<RawAnswer> {
      const keysBefore = await writtenKeys();
      const answer = await send(baseUrl, method, path, body, headers);
      if (!allowed.includes(answer.status)) {
        throw new Error(`${method} ${path} answered ${answer.status} ${JSON.stringify(answer.body).slice(0, 300)} for ${String(body).slice(0, 200)}`);
      }
      if (answer.status >= 400) expect(answer.body.error).toMatchObject({ code: expect.any(String), message: expect.any(String) });
      if (answer.status !== 202) expect(await writtenKeys()).toBe(keysBefore);
      return answer;
    }

    const contentTypes = fc.constantFrom(
      'application/json',
      'application/json; charset=utf-8',
      'application/json; charset=latin1',
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      '',
    );
    const workloadLike = fc.record(
      {
        type: fc.oneof(fc.constant('compute'), fc.constant('fetch'), fc.string()),
        task: fc.oneof(fc.constantFrom('sumSquares', 'countPrimes', 'spin', 'mulArrays', '__proto__', 'constructor', 'toString'), fc.string()),
        inputs: fc.oneof(fc.array(fc.jsonValue(), { maxLength: 20 }), fc.array(fc.integer({ min: -10, max: 3000 }), { maxLength: 20 }), fc.jsonValue()),
        chunkSize: fc.oneof(fc.integer(), fc.double(), fc.string()),
        attempts: fc.oneof(fc.integer({ min: -5, max: 30 }), fc.double()),
        timeoutMs: fc.oneof(fc.integer(), fc.double()),
        priority: fc.oneof(fc.integer({ min: -5, max: 200 }), fc.constant(null)),
        reduce: fc.oneof(fc.constantFrom('sum', 'min', 'max', 'count'), fc.string()),
      },
      { requiredKeys: [] },
    );
    const bodies = fc.oneof(
      fc.json().map((text) => ({ text, bytes: undefined as Uint8Array | undefined })),
      workloadLike.map((value) => ({ text: JSON.stringify(value), bytes: undefined as Uint8Array | undefined })),
      fc.uint8Array({ maxLength: 2000 }).map((bytes) => ({ text: undefined as string | undefined, bytes })),
      fc.string().map((text) => ({ text, bytes: undefined as Uint8Array | undefined })),
    );

    it('arbitrary bodies to POST /v1/workloads: only 202/200/400/409/413/415, never a 5xx, nothing written unless 202', async () => {
      await fc.assert(
        fc.asyncProperty(bodies, contentTypes, fc.option(fc.string({ minLength: 0, maxLength: 300 })), async (body, contentType, key) => {
          const headers: Record<string, string> = contentType ? { 'content-type': contentType } : {};
          if (key !== null) headers['idempotency-key'] = encodeURIComponent(key);
          const answer = await probe('POST', '/v1/workloads', body.bytes ?? body.text, headers, [200, 202, 400, 409, 413, 415]);
          if (answer.status === 202) fuzzed.ledger.accept(answer.body.id, []);
        }),
        { seed: 20251125, numRuns: 300 },
      );
    });

    it('arbitrary paths, queries, methods and bodies to every route: no 5xx, nothing written', async () => {
      const routes = fc.constantFrom(
        '/v1/workloads',
        '/v1/workloads/:id',
        '/v1/workloads/:id/results',
        '/v1/workloads/:id/events',
        '/v1/tasks',
        '/v1/:id',
        '/:id',
        '/healthz',
        '/readyz',
      );
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom('GET', 'DELETE', 'PUT', 'PATCH', 'POST'),
          routes,
          fc.string({ maxLength: 80 }),
          fc.dictionary(fc.constantFrom('wait', 'limit', 'status', 'x', '__proto__'), fc.oneof(fc.string(), fc.integer().map(String), fc.double().map(String))),
          bodies,
          async (method, route, id, query, body) => {
            const path = route.replace(':id', encodeURIComponent(id)) + (Object.keys(query).length ? `?${new URLSearchParams(query)}` : '');
            // A POST to /v1/workloads is the previous property's; here it is any other route.
            if (method === 'POST' && route === '/v1/workloads') return;
            await probe(method, path, body.bytes ?? body.text, { 'content-type': 'application/json' }, [200, 400, 404, 409]);
          },
        ),
        { seed: 20251126, numRuns: 300 },
      );
    });

    it.each<[string, string | Uint8Array, Record<string, string>, number]>([
      ['__proto__ as task', JSON.stringify({ type: 'compute', task: '__proto__', inputs: [1] }), {}, 400],
      ['constructor as task', JSON.stringify({ type: 'compute', task: 'constructor', inputs: [1] }), {}, 400],
      ['a __proto__ key', '{"__proto__": {"polluted": true}, "type": "compute", "task": "sumSquares", "inputs": [1]}', {}, 400],
      ['NaN', '{"type": "compute", "task": "sumSquares", "inputs": [NaN]}', {}, 400],
      ['Infinity', '{"type": "compute", "task": "sumSquares", "inputs": [Infinity]}', {}, 400],
      ['1e400 (Infinity once parsed)', '{"type": "compute", "task": "sumSquares", "inputs": [1e400]}', {}, 400],
      ['negative input', JSON.stringify({ type: 'compute', task: 'sumSquares', inputs: [-5] }), {}, 400],
      ['negative chunkSize', JSON.stringify({ ...notebook, chunkSize: -1 }), {}, 400],
      ['NaN-like chunkSize', '{"type": "compute", "task": "sumSquares", "inputs": [1], "chunkSize": 1e400}', {}, 400],
      ['negative attempts', JSON.stringify({ ...notebook, attempts: -3 }), {}, 400],
      ['negative timeoutMs', JSON.stringify({ ...notebook, timeoutMs: -1 }), {}, 400],
      ['negative spin', JSON.stringify({ type: 'compute', task: 'spin', inputs: [{ ms: -1 }] }), {}, 400],
      ['a 10 MB body', JSON.stringify({ type: 'compute', task: 'sumSquares', inputs: new Array(2_500_000).fill(1000) }), {}, 413],
      ['text/plain', JSON.stringify(notebook), { 'content-type': 'text/plain' }, 415],
      ['form data', 'type=compute&task=sumSquares', { 'content-type': 'application/x-www-form-urlencoded' }, 415],
      ['no content type', JSON.stringify(notebook), { 'content-type': '' }, 415],
      ['gzip that is not gzip', JSON.stringify(notebook), { 'content-encoding': 'gzip' }, 400],
      ['an unknown encoding', JSON.stringify(notebook), { 'content-encoding': 'zstd-ish' }, 415],
      ['deep nesting (100 000 levels)', `${'['.repeat(100_000)}${']'.repeat(100_000)}`, {}, 400],
      ['deep nesting inside an input', `{"type":"compute","task":"alwaysThrows","inputs":[${'['.repeat(50_000)}${']'.repeat(50_000)}]}`, {}, 400],
      ['deep nesting inside an object', `{"type":"compute","task":"sumSquares","inputs":[1],"x":${'{"a":'.repeat(20_000)}1${'}'.repeat(20_000)}}`, {}, 400],
    ])('fixed case: %s', async (_name, body, headers, status) => {
      const answer = await probe('POST', '/v1/workloads', body, { 'content-type': 'application/json', ...headers }, [status]);
      expect(answer.status).toBe(status);
    });

    it('nothing was half-written by all of that', async () => {
      expect(await fuzzed.ledger.unaccepted()).toEqual({ workloads: [], jobs: [] });
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });
  });

  it('12. tokens: missing, wrong or revoked gets 401 on every /v1 route; never logged; a per-token rate limit answers 429', async () => {
    const tokens = { alpha: 'alpha-7f3c9d2e41b8a6055d1e', beta: 'beta-0c6e2a9f73d4b1858e2f', gamma: 'gamma-93b1e7c4a2f6085d6c3a' };
    const wrong = 'wrong-5e8d1c3b9a7f2046e1d0';
    cluster = await FaultCluster.start('s12', {
      workers: 0,
      producerEnv: { API_TOKENS: `${tokens.alpha},${tokens.beta},${tokens.gamma}`, RATE_LIMIT_PER_MINUTE: '30', LOG_LEVEL: 'trace' },
    });
    const redis = cluster.connect();
    await keyCountSettled(redis);
    const expectRefusedEverywhere = async (authorization: string | undefined): Promise<void> => {
      for (const route of V1_ROUTES) {
        const keysBefore = await redis.dbsize();
        const headers: Record<string, string> = { 'content-type': 'application/json', ...(authorization === undefined ? {} : { authorization }) };
        const answer = await send(cluster!.api.baseUrl, route.method, route.path, route.body, headers);
        expect({ route: `${route.method} ${route.path}`, status: answer.status, code: answer.body?.error?.code }).toEqual({
          route: `${route.method} ${route.path}`,
          status: 401,
          code: 'UNAUTHORIZED',
        });
        expect(await redis.dbsize()).toBe(keysBefore);
      }
    };
    await expectRefusedEverywhere(undefined);
    await expectRefusedEverywhere(`Bearer ${wrong}`);
    await expectRefusedEverywhere(`Bearer ${tokens.alpha}x`);
    await expectRefusedEverywhere(`Basic ${Buffer.from(`user:${tokens.alpha}`).toString('base64')}`);
    await expectRefusedEverywhere('Bearer');
    await expectRefusedEverywhere(`Bearer ${tokens.alpha} ${tokens.beta}`);
    expect((await send(cluster.api.baseUrl, 'GET', '/healthz')).status).toBe(200);
    const accepted = await send(cluster.api.baseUrl, 'POST', '/v1/workloads', JSON.stringify(notebook), {
      'content-type': 'application/json',
      authorization: `Bearer ${tokens.beta}`,
    });
    expect(accepted.status).toBe(202);

    // Revoked: the producer restarts without beta. Its workload stays, an admin sees it; alpha, another
    // tenant, gets the 404 of an unknown id.
    const before = cluster.producer;
    await before.stop('SIGTERM');
    const admin = 'admin-4b7e2c9d1f0a8365e2c1';
    await cluster.startProducer({ API_TOKENS: `${tokens.alpha},${tokens.gamma}`, ADMIN_TOKENS: admin });
    await expectRefusedEverywhere(`Bearer ${tokens.beta}`);
    expect((await send(cluster.api.baseUrl, 'GET', `/v1/workloads/${accepted.body.id}`, undefined, { authorization: `Bearer ${admin}` })).status).toBe(200);
    expect((await send(cluster.api.baseUrl, 'GET', `/v1/workloads/${accepted.body.id}`, undefined, { authorization: `Bearer ${tokens.alpha}` })).status).toBe(
      404,
    );

    // Rate limit: 30 per minute per token, in one window (wait for a fresh one when this one is nearly over).
    const intoWindow = Date.now() % 60_000;
    if (intoWindow > 50_000) await new Promise((resolve) => setTimeout(resolve, 60_500 - intoWindow));
    const statuses: number[] = [];
    let limited: RawAnswer | undefined;
    for (let i = 0; i < 35; i++) {
      const answer = await send(cluster.api.baseUrl, 'GET', '/v1/tasks', undefined, { authorization: `Bearer ${tokens.gamma}` });
      statuses.push(answer.status);
      if (answer.status === 429) limited ??= answer;
    }
    expect(statuses).toEqual([...new Array(30).fill(200), ...new Array(5).fill(429)]);
    expect(limited!.body.error.code).toBe('RATE_LIMITED');
    const retryAfter = Number(limited!.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    // Per token: alpha is not limited by gamma's requests.
    expect((await send(cluster.api.baseUrl, 'GET', '/v1/tasks', undefined, { authorization: `Bearer ${tokens.alpha}` })).status).toBe(200);
    // The counters are keyed by a digest: no token appears in Redis.
    const keys = await redis.keys('*');
    for (const token of [...Object.values(tokens), wrong]) expect(keys.filter((key) => key.includes(token))).toEqual([]);

    // No token, right or wrong, was ever written to a log.
    const logs = [...before.output, ...cluster.producer.output].join('\n');
    expect(logs.length).toBeGreaterThan(0);
    for (const token of [...Object.values(tokens), wrong]) expect(logs.includes(token)).toBe(false);
  });
});

/** BullMQ writes its queues' meta keys once connected (later under load): let that settle before counting keys. */
async function keyCountSettled(redis: Redis): Promise<void> {
  let lastSize = -1;
  await eventually(
    async () => {
      const size = await redis.dbsize();
      // Never settled at zero: the producer's queues always write theirs.
      const settled = size === lastSize && size > 0;
      lastSize = size;
      return settled;
    },
    10_000,
    300,
  );
}
