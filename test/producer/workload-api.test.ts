/**
 * The producer API in-process against a real Redis, with no worker running: what it accepts, what it
 * refuses, and that a refused request writes nothing at all.
 */
import { Redis } from 'ioredis';
import { startProducerHarness, type ProducerHarness } from '../utils/producer-harness';
import { countKeys, testRedisUrl } from '../utils/redis';

const notebook = { type: 'compute', task: 'sumSquares', inputs: new Array(20).fill(2000), reduce: 'sum' };

describe('producer API', () => {
  let harness: ProducerHarness;
  let redis: Redis;

  beforeEach(async () => {
    harness = await startProducerHarness('api', { MAX_BODY_BYTES: String(256 * 1024) });
    redis = new Redis(testRedisUrl());
  });
  afterEach(async () => {
    redis.disconnect();
    await harness.close();
  });

  const jobCount = async (): Promise<number> => {
    const counts = await harness.producer.queues.compute.getJobCounts('waiting', 'prioritized', 'active', 'delayed');
    return Object.values(counts).reduce((a, b) => a + b, 0);
  };

  it('accepts a workload: 202, Location, ceil(N / chunkSize) chunk jobs', async () => {
    const answer = await harness.api.post('/v1/workloads', { ...notebook, chunkSize: 3 });
    expect(answer.status).toBe(202);
    expect(answer.body).toEqual({ id: expect.any(String), status: 'queued', total: 20, chunks: 7 });
    expect(answer.headers.get('location')).toBe(`/v1/workloads/${answer.body.id}`);
    expect(await jobCount()).toBe(7);

    const view = await harness.api.get(`/v1/workloads/${answer.body.id}`);
    expect(view.body).toMatchObject({
      id: answer.body.id,
      type: 'compute',
      task: 'sumSquares',
      status: 'queued',
      total: 20,
      completed: 0,
      failed: 0,
      chunks: 7,
      startedAt: null,
      finishedAt: null,
      durationMs: null,
    });
    expect(new Date(view.body.createdAt).toISOString()).toBe(view.body.createdAt);

    const list = await harness.api.get('/v1/workloads?status=queued&limit=5');
    expect(list.body.workloads.map((w: { id: string }) => w.id)).toEqual([answer.body.id]);
    const results = await harness.api.get(`/v1/workloads/${answer.body.id}/results`);
    expect(results.body).toEqual({ id: answer.body.id, status: 'queued', total: 20, offset: 0, results: new Array(20).fill(null), errors: [], reduced: null });
  });

  it('picks a default chunk size', async () => {
    const answer = await harness.api.post('/v1/workloads', { type: 'compute', task: 'sumSquares', inputs: new Array(640).fill(1) });
    expect(answer.body.chunks).toBe(64);
  });

  const invalid: Array<[string, unknown, string | undefined]> = [
    ['unknown task', { type: 'compute', task: 'nope', inputs: [1] }, 'task'],
    ['__proto__ as task', { type: 'compute', task: '__proto__', inputs: [1] }, 'task'],
    ['wrong input type', { type: 'compute', task: 'sumSquares', inputs: [1, 'two', 3] }, 'inputs.1'],
    ['negative input', { type: 'compute', task: 'sumSquares', inputs: [-5] }, 'inputs.0'],
    ['chunkSize 0', { ...notebook, chunkSize: 0 }, 'chunkSize'],
    ['chunkSize 1e9', { ...notebook, chunkSize: 1e9 }, 'chunkSize'],
    ['chunkSize fractional', { ...notebook, chunkSize: 1.5 }, 'chunkSize'],
    ['missing inputs', { type: 'compute', task: 'sumSquares' }, 'inputs'],
    ['empty inputs', { type: 'compute', task: 'sumSquares', inputs: [] }, 'inputs'],
    ['missing type', { task: 'sumSquares', inputs: [1] }, 'type'],
    ['unknown field', { ...notebook, chunksize: 2 }, ''],
    ['reduce that does not apply', { type: 'compute', task: 'mulArrays', inputs: [{ x: [1], y: [2] }], reduce: 'sum' }, 'reduce'],
    ['unknown reduce', { ...notebook, reduce: 'avg' }, 'reduce'],
    ['an array body', [notebook], undefined],
    ['a string body', '"hello"', undefined],
    ['null body', 'null', undefined],
  ];

  it.each(invalid)('refuses %s with 400 and writes nothing', async (_name, body, path) => {
    const keysBefore = await countKeys(redis, harness.prefix);
    const answer = await harness.api.post('/v1/workloads', body);
    expect(answer.status).toBe(400);
    expect(answer.body.error).toMatchObject({ code: 'VALIDATION_FAILED', message: expect.any(String), details: expect.any(Array) });
    if (path !== undefined) expect(answer.body.error.details.map((d: { path: string }) => d.path)).toContain(path);
    expect(await countKeys(redis, harness.prefix)).toBe(keysBefore);
    expect(await jobCount()).toBe(0);
  });

  it('refuses non-JSON with 400, a wrong content type with 415, a huge body with 413', async () => {
    const keysBefore = await countKeys(redis, harness.prefix);
    const notJson = await harness.api.post('/v1/workloads', '{"type": "compute",', {});
    expect(notJson.status).toBe(400);
    expect(notJson.body.error.code).toBe('VALIDATION_FAILED');

    const wrongType = await harness.api.request('POST', '/v1/workloads', JSON.stringify(notebook), { 'content-type': 'text/plain' });
    expect(wrongType.status).toBe(415);
    expect(wrongType.body.error.code).toBe('UNSUPPORTED_MEDIA_TYPE');

    const huge = await harness.api.post('/v1/workloads', { type: 'compute', task: 'sumSquares', inputs: new Array(200_000).fill(2000) });
    expect(huge.status).toBe(413);
    expect(huge.body.error.code).toBe('PAYLOAD_TOO_LARGE');
    expect(await countKeys(redis, harness.prefix)).toBe(keysBefore);
    expect(await jobCount()).toBe(0);
  });

  it('answers 404 in the error shape for unknown workloads and routes', async () => {
    for (const path of ['/v1/workloads/does-not-exist', '/v1/workloads/does-not-exist/results', '/v1/nothing', '/v1/workloads/%7Bx%7D']) {
      const answer = await harness.api.get(path);
      expect(answer.status).toBe(404);
      expect(answer.body.error.code).toBe('NOT_FOUND');
    }
    expect((await harness.api.delete('/v1/workloads/nope')).status).toBe(404);
  });

  it('refuses a bad query with 400', async () => {
    expect((await harness.api.get('/v1/workloads?limit=0')).status).toBe(400);
    expect((await harness.api.get('/v1/workloads?status=done')).status).toBe(400);
  });

  it('lists the tasks with their input shape', async () => {
    const answer = await harness.api.get('/v1/tasks');
    expect(answer.status).toBe(200);
    const sumSquares = answer.body.tasks.find((task: { name: string }) => task.name === 'sumSquares');
    expect(sumSquares).toMatchObject({ output: 'integer', deterministic: true, input: { type: 'integer', minimum: 0 } });
    expect(answer.body.tasks.map((task: { name: string }) => task.name)).toEqual(['sumSquares', 'countPrimes', 'mulArrays', 'spin', 'sleep']);
  });

  it('answers health and readiness', async () => {
    expect((await harness.api.get('/healthz')).body).toEqual({ status: 'ok' });
    expect((await harness.api.get('/readyz')).body).toEqual({ status: 'ready' });
  });

  it('cancels a queued workload: its chunks leave the queue, a second DELETE answers the same', async () => {
    const id = await harness.api.submit({ ...notebook, chunkSize: 1 });
    // 20 chunks: the first window (CHUNKS_IN_QUEUE_PER_WORKLOAD, 8) is queued, the rest wait in the workload's hash.
    expect(await jobCount()).toBe(8);
    const cancelled = await harness.api.delete(`/v1/workloads/${id}`);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({ id, status: 'cancelled' });
    expect(await jobCount()).toBe(0);
    expect(await redis.exists(`${harness.prefix}:wl:{${id}}:chunks`)).toBe(0);
    expect((await harness.api.delete(`/v1/workloads/${id}`)).status).toBe(200);
  });

  it('Idempotency-Key: a repeat answers the first id and enqueues nothing; another body is a 409', async () => {
    const headers = { 'idempotency-key': 'order-42' };
    const first = await harness.api.post('/v1/workloads', notebook, headers);
    expect(first.status).toBe(202);
    const repeat = await harness.api.post('/v1/workloads', notebook, headers);
    expect(repeat.status).toBe(200);
    expect(repeat.body.id).toBe(first.body.id);
    const other = await harness.api.post('/v1/workloads', { ...notebook, inputs: [1] }, headers);
    expect(other.status).toBe(409);
    expect(other.body.error.code).toBe('IDEMPOTENCY_KEY_REUSED');
    // One workload's jobs: its 20 chunks, fed through the window of 8 (CHUNKS_IN_QUEUE_PER_WORKLOAD).
    expect(await jobCount()).toBe(8);
    // Claimed for a minute while the submission was written, kept for 24 h once it was accepted.
    const [claimKey] = await redis.keys(`${harness.prefix}:idempotency:*`);
    expect(await redis.ttl(claimKey)).toBeGreaterThan(23 * 60 * 60);
  });

  it('Idempotency-Key: the same body with its keys in another order (at any depth) is a repeat, not a conflict', async () => {
    const headers = { 'idempotency-key': 'reordered' };
    const body = { type: 'compute', task: 'mulArrays', inputs: [{ x: [1, 2], y: [3, 4] }], chunkSize: 1, priority: 10 };
    const first = await harness.api.post('/v1/workloads', body, headers);
    expect(first.status).toBe(202);
    const reordered = '{"priority":10,"chunkSize":1,"inputs":[{"y":[3,4],"x":[1,2]}],"task":"mulArrays","type":"compute"}';
    const repeat = await harness.api.post('/v1/workloads', reordered, headers);
    expect(repeat.status).toBe(200);
    expect(repeat.body.id).toBe(first.body.id);
    // Arrays keep their order: another order of items is another body.
    const swapped = await harness.api.post('/v1/workloads', { ...body, inputs: [{ x: [2, 1], y: [3, 4] }] }, headers);
    expect(swapped.status).toBe(409);
    expect(swapped.body.error.code).toBe('IDEMPOTENCY_KEY_REUSED');
    const other = await harness.api.post('/v1/workloads', { ...body, priority: 11 }, headers);
    expect(other.status).toBe(409);
    expect((await harness.api.get('/v1/workloads')).body.workloads).toHaveLength(1);
  });

  it('Idempotency-Key: concurrent repeats make exactly one workload', async () => {
    const headers = { 'idempotency-key': 'burst' };
    const answers = await Promise.all(Array.from({ length: 10 }, () => harness.api.post('/v1/workloads', notebook, headers)));
    const ids = new Set(answers.map((answer) => answer.body.id));
    expect(ids.size).toBe(1);
    expect(answers.filter((answer) => answer.status === 202)).toHaveLength(1);
    expect(answers.filter((answer) => answer.status === 200)).toHaveLength(9);
    expect((await harness.api.get('/v1/workloads')).body.workloads).toHaveLength(1);
  });
});

describe('producer API with API_TOKENS', () => {
  let harness: ProducerHarness;
  afterEach(async () => harness.close());

  it('needs a valid bearer token on every /v1 route, but not for health checks', async () => {
    harness = await startProducerHarness('auth', { API_TOKENS: 'secret-one,secret-two' });
    const anonymous = harness.api;
    for (const [method, path] of [
      ['GET', '/v1/tasks'],
      ['GET', '/v1/workloads'],
      ['POST', '/v1/workloads'],
      ['GET', '/v1/workloads/x'],
      ['DELETE', '/v1/workloads/x'],
    ]) {
      const answer = await anonymous.request(method, path, method === 'POST' ? notebook : undefined);
      expect(answer.status).toBe(401);
      expect(answer.body.error.code).toBe('UNAUTHORIZED');
    }
    const wrong = await anonymous.request('GET', '/v1/tasks', undefined, { authorization: 'Bearer secret-three' });
    expect(wrong.status).toBe(401);
    const right = await anonymous.request('GET', '/v1/tasks', undefined, { authorization: 'Bearer secret-two' });
    expect(right.status).toBe(200);
    expect((await anonymous.get('/healthz')).status).toBe(200);
  });
});
