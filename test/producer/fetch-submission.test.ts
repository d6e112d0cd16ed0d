/** What the producer accepts and refuses for fetch workloads (no worker running). */
import { startProducerHarness, type ProducerHarness } from '../utils/producer-harness';

const url = 'https://api.example/weather?q=Zurich';

describe('fetch submissions', () => {
  let harness: ProducerHarness;
  beforeAll(async () => {
    harness = await startProducerHarness('fetch-api');
  });
  afterAll(async () => harness.close());

  it("accepts the contract's example; a fetch chunk can fill the workload's concurrency", async () => {
    const answer = await harness.api.post('/v1/workloads', {
      type: 'fetch',
      urls: new Array(40).fill(url),
      extract: 'main.temp',
      concurrency: 17,
      perHostConcurrency: 8,
      timeoutMs: 5000,
      retries: 2,
    });
    expect(answer.status).toBe(202);
    expect(answer.body).toMatchObject({ total: 40, chunks: 3 });
    const view = await harness.api.get(`/v1/workloads/${answer.body.id}`);
    expect(view.body).toMatchObject({ type: 'fetch', task: null, status: 'queued' });
    const jobs = await harness.producer.queues.fetch.getJobs(['waiting', 'prioritized']);
    const first = jobs.find((job) => job.data.chunkIndex === 0)!;
    expect(first.data).toMatchObject({
      type: 'fetch',
      start: 0,
      fetch: { extract: 'main.temp', concurrency: 17, perHostConcurrency: 8, timeoutMs: 5000, retries: 2, maxResponseBytes: 1048576 },
    });
  });

  it('accepts requests with a method, headers and a JSON body (sent as JSON); the headers stay out of the job', async () => {
    const answer = await harness.api.post('/v1/workloads', {
      type: 'fetch',
      requests: [
        { url, method: 'POST', headers: { 'x-api-key': 'k' }, body: { q: 'Zurich' } },
        { url, method: 'POST', headers: { 'x-api-key': 'k' }, body: { q: 'Bern' } },
        { url },
      ],
    });
    expect(answer.status).toBe(202);
    const [job] = (await harness.producer.queues.fetch.getJobs(['waiting', 'prioritized'])).filter((j) => j.data.workloadId === answer.body.id);
    // Both requests share header set 0, kept in the workload's own hash (core/request-headers.ts).
    expect((job.data as { requests?: unknown }).requests).toEqual([
      { url, method: 'POST', headersRef: 0, body: '{"q":"Zurich"}' },
      { url, method: 'POST', headersRef: 0, body: '{"q":"Bern"}' },
      { url },
    ]);
    const sets = await harness.producer.store.requestHeaderSets(answer.body.id, [0, 1]);
    expect([...sets]).toEqual([
      [0, JSON.stringify({ 'x-api-key': 'k', 'content-type': 'application/json' })],
      [1, null],
    ]);
  });

  it('refuses a URL with a user name or password, naming the item and saying to send an Authorization header; writes nothing', async () => {
    const before = (await harness.api.get('/v1/workloads?limit=1000')).body.workloads.length;
    for (const [fields, path] of [
      [{ urls: [url, 'https://user:s3cr3t@api.example/x'] }, 'urls.1'],
      [{ requests: [{ url: 'http://token@api.example/x' }] }, 'requests.0.url'],
    ] as const) {
      const answer = await harness.api.post('/v1/workloads', { type: 'fetch', ...fields });
      expect(answer.status).toBe(400);
      const detail = answer.body.error.details.find((d: { path: string }) => d.path === path);
      expect(detail.message).toMatch(/user name or password.*"Authorization" header/);
      expect(JSON.stringify(answer.body)).not.toMatch(/s3cr3t|token@/);
    }
    expect((await harness.api.get('/v1/workloads?limit=1000')).body.workloads.length).toBe(before);
  });

  it.each([
    ['both urls and requests', { urls: [url], requests: [{ url }] }, 'urls'],
    ['neither urls nor requests', {}, 'urls'],
    ['a file: URL', { urls: ['file:///etc/passwd'] }, 'urls.0'],
    ['a relative URL', { urls: ['/weather'] }, 'urls.0'],
    ['__proto__ in extract', { urls: [url], extract: 'main.__proto__.x' }, 'extract'],
    ['constructor in extract', { urls: [url], extract: 'constructor.prototype' }, 'extract'],
    ['an empty extract segment', { urls: [url], extract: 'main..temp' }, 'extract'],
    ['concurrency 0', { urls: [url], concurrency: 0 }, 'concurrency'],
    ['perHostConcurrency too large', { urls: [url], perHostConcurrency: 100_000 }, 'perHostConcurrency'],
    ['retries too many', { urls: [url], retries: 99 }, 'retries'],
    ['a Host header', { requests: [{ url, headers: { Host: 'evil' } }] }, 'requests.0.headers.Host'],
    ['a header with a newline', { requests: [{ url, headers: { 'x-a': 'a\r\nb: c' } }] }, 'requests.0.headers.x-a'],
    ['an unknown method', { requests: [{ url, method: 'TRACE' }] }, 'requests.0.method'],
    ['a task on a fetch workload', { urls: [url], task: 'sumSquares' }, ''],
  ])('refuses %s with 400', async (_name, fields, path) => {
    const answer = await harness.api.post('/v1/workloads', { type: 'fetch', ...fields });
    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toBe('VALIDATION_FAILED');
    expect(answer.body.error.details.map((detail: { path: string }) => detail.path)).toContain(path);
  });
});
