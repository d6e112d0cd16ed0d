/**
 * The producer's /metrics (in-process producer, real Redis): requests counted by method, Express route
 * pattern (never the URL asked for) and status, 4xx included; their latency histogram; submissions by
 * type and outcome; the process metrics; and who may read it (METRICS_TOKEN or an admin, as on the dashboard).
 */
import { startProducerHarness, type ProducerHarness } from '../utils/producer-harness';
import { parseMetrics, samplesOf, sumOf, type Sample } from '../utils/prometheus-text';
import { validatingFetch } from '../utils/openapi-validator';

/** The producer's answers (/metrics is in its OpenAPI document, with its 401 and 403), checked against the document. */
const fetch = validatingFetch();

const TOKENS = { alice: 'alice-token-1234567890', root: 'root-token-1234567890', metrics: 'metrics-token-1234567890' };

async function scrapeWith(baseUrl: string, token?: string): Promise<{ status: number; samples: Sample[] }> {
  const response = await fetch(`${baseUrl}/metrics`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  const text = await response.text();
  return { status: response.status, samples: response.status === 200 ? parseMetrics(text) : [] };
}

describe('producer /metrics', () => {
  let producer: ProducerHarness;
  beforeAll(async () => {
    producer = await startProducerHarness('producer-metrics');
  });
  afterAll(async () => producer?.close());
  afterEach(() => expect(fetch.violations.splice(0).map((violation) => violation.message)).toEqual([]));

  it('counts requests by route pattern and status, 400 and 404 included, and submissions by outcome', async () => {
    const { api } = producer;
    const id = await api.submit({ type: 'compute', task: 'sumSquares', inputs: [1, 2], chunkSize: 1 });
    expect((await api.get(`/v1/workloads/${id}`)).status).toBe(200);
    expect((await api.request('POST', '/v1/workloads', { type: 'compute', task: 'sumSquares', inputs: 'no' })).status).toBe(400);
    expect((await api.get('/v1/workloads/no-such-workload')).status).toBe(404);
    expect((await api.get('/v1/workloads/another-missing-one')).status).toBe(404);
    expect((await api.get('/v1/nothing-here')).status).toBe(404);
    expect((await api.get('/no/such/path')).status).toBe(404);
    expect((await api.get('/healthz')).status).toBe(200);

    const { status, samples } = await scrapeWith(api.baseUrl);
    expect(status).toBe(200);
    const requests = (labels: Record<string, string>) => sumOf(samples, 'chunkmill_http_requests_total', labels);
    expect(requests({ method: 'POST', route: '/v1/workloads', status: '202' })).toBe(1);
    expect(requests({ method: 'POST', route: '/v1/workloads', status: '400' })).toBe(1);
    expect(requests({ method: 'GET', route: '/v1/workloads/:id', status: '200' })).toBe(1);
    // Two ids, one series: the route pattern, never the URL.
    expect(requests({ method: 'GET', route: '/v1/workloads/:id', status: '404' })).toBe(2);
    expect(requests({ method: 'GET', route: '/v1/*', status: '404' })).toBe(1);
    expect(requests({ method: 'GET', route: 'unmatched', status: '404' })).toBe(1);
    expect(requests({ method: 'GET', route: '/healthz', status: '200' })).toBe(1);
    const routes = new Set(samplesOf(samples, 'chunkmill_http_requests_total').map((sample) => sample.labels.route));
    for (const route of routes) expect(route).not.toMatch(/no-such|missing|nothing|no\/such|[0-9a-f]{8}-/);

    // The latency histogram has the same labels, one observation per request.
    expect(sumOf(samples, 'chunkmill_http_request_duration_seconds_count', { route: '/v1/workloads/:id', status: '404' })).toBe(2);
    expect(sumOf(samples, 'chunkmill_http_request_duration_seconds_bucket', { route: '/v1/workloads', status: '202', le: '+Inf' })).toBe(1);
    expect(sumOf(samples, 'chunkmill_http_request_duration_seconds_sum', { route: '/v1/workloads', status: '202' })).toBeGreaterThan(0);

    expect(sumOf(samples, 'chunkmill_submissions_total', { type: 'compute', outcome: 'accepted' })).toBe(1);
    expect(sumOf(samples, 'chunkmill_submissions_total', { type: 'compute', outcome: 'rejected' })).toBe(1);
    expect(sumOf(samples, 'chunkmill_submissions_total', { type: 'fetch', outcome: 'accepted' })).toBe(0);
    expect(samplesOf(samples, 'chunkmill_submissions_total')).toHaveLength(12);

    // The process, with the project's prefix (as the worker hosts and the dashboard export it).
    expect(sumOf(samples, 'chunkmill_process_cpu_seconds_total')).toBeGreaterThan(0);
    expect(samplesOf(samples, 'chunkmill_nodejs_eventloop_lag_p99_seconds')).toHaveLength(1);

    // The scrape itself is counted by the next one.
    expect(requests({ method: 'GET', route: '/metrics', status: '200' })).toBe(0);
    expect(sumOf((await scrapeWith(api.baseUrl)).samples, 'chunkmill_http_requests_total', { route: '/metrics', status: '200' })).toBe(1);
  });

  it('with tokens: METRICS_TOKEN or an admin token reads it, a tenant or no token does not', async () => {
    const secured = await startProducerHarness('producer-metrics-auth', {
      API_TOKENS: `alice:${TOKENS.alice}`,
      ADMIN_TOKENS: `root:${TOKENS.root}`,
      METRICS_TOKEN: TOKENS.metrics,
    });
    try {
      const base = secured.api.baseUrl;
      expect((await scrapeWith(base)).status).toBe(401);
      expect((await scrapeWith(base, 'wrong-token-1234567890')).status).toBe(401);
      expect((await scrapeWith(base, TOKENS.alice)).status).toBe(403);
      expect((await scrapeWith(base, TOKENS.root)).status).toBe(200);
      const { status, samples } = await scrapeWith(base, TOKENS.metrics);
      expect(status).toBe(200);
      expect(sumOf(samples, 'chunkmill_http_requests_total', { route: '/metrics', status: '401' })).toBe(2);
      expect(sumOf(samples, 'chunkmill_http_requests_total', { route: '/metrics', status: '403' })).toBe(1);
    } finally {
      await secured.close();
    }
  });
});
