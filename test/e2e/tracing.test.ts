/**
 * Tracing on: one trace per workload, read end to end. The producer runs in this process with an
 * in-memory exporter; the worker host is the real one (dist/, two processes), turned on by the standard
 * variables and exporting OTLP over HTTP/JSON to a tiny collector started here. The workloads have more
 * chunks than the feed window, so most chunks are fed later by the workers, from the workload's hash.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { CITIES, WeatherServer } from '../../bench/lib/weather-server';
import { startTracing, stopTracing } from '../../src/core/tracing';
import { eventually, startChunkmill, type ChunkmillHarness } from '../utils/chunkmill-harness';

/** A span as the collector received it (OTLP JSON: hex ids, typed attribute values). */
interface CollectedSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  status?: { code?: number };
  attributes: Record<string, unknown>;
  service: string;
}

type OtlpValue = { stringValue?: string; intValue?: string | number; doubleValue?: number; boolValue?: boolean };
type OtlpAttribute = { key: string; value: OtlpValue };

const otlpValue = (value: OtlpValue): unknown => {
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.intValue !== undefined) return Number(value.intValue);
  if (value.doubleValue !== undefined) return value.doubleValue;
  return value.boolValue;
};
const attributesOf = (list: OtlpAttribute[] = []): Record<string, unknown> => Object.fromEntries(list.map(({ key, value }) => [key, otlpValue(value)]));

/** An OTLP/HTTP receiver of JSON trace exports on 127.0.0.1. */
class Collector {
  readonly spans: CollectedSpan[] = [];
  private readonly server = http.createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (part: Buffer) => parts.push(part));
    req.on('end', () => {
      if (req.url === '/v1/traces') {
        const body = JSON.parse(Buffer.concat(parts).toString('utf8'));
        for (const resourceSpans of body.resourceSpans ?? []) {
          const service = String(attributesOf(resourceSpans.resource?.attributes)['service.name']);
          for (const scopeSpans of resourceSpans.scopeSpans ?? []) {
            for (const span of scopeSpans.spans ?? []) {
              this.spans.push({ ...span, parentSpanId: span.parentSpanId || undefined, attributes: attributesOf(span.attributes), service });
            }
          }
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

const WINDOW = 2;

describe('tracing', () => {
  const exporter = new InMemorySpanExporter();
  const collector = new Collector();
  let chunkmill: ChunkmillHarness;
  let weather: WeatherServer;

  beforeAll(async () => {
    expect(startTracing('producer', { spanProcessors: [new SimpleSpanProcessor(exporter)] })).toBe(true);
    const endpoint = await collector.listen();
    weather = await new WeatherServer({ delayMs: 5 }).listen();
    chunkmill = await startChunkmill('tracing', {
      producerEnv: { CHUNKS_IN_QUEUE_PER_WORKLOAD: String(WINDOW) },
      workerEnv: {
        CHUNKS_IN_QUEUE_PER_WORKLOAD: String(WINDOW),
        FETCH_ALLOW_PRIVATE: 'true',
        OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        OTEL_BSP_SCHEDULE_DELAY: '100',
        WORKER_ID: 'tracing-host',
      },
    });
  });
  afterAll(async () => {
    await chunkmill?.close();
    await stopTracing();
    await weather?.close();
    await collector.close();
  });

  /** The producer's submit span of workload `id`. */
  const submitSpan = (id: string): ReadableSpan => {
    const spans = exporter.getFinishedSpans().filter((span) => span.name === 'chunkmill.submit' && span.attributes['chunkmill.workload.id'] === id);
    expect(spans).toHaveLength(1);
    return spans[0];
  };

  /** Every span the workers exported in the submit span's trace, once `expected` chunk spans have arrived. */
  async function workerSpans(submit: ReadableSpan, chunks: number): Promise<CollectedSpan[]> {
    const { traceId } = submit.spanContext();
    const inTrace = () => collector.spans.filter((span) => span.traceId === traceId);
    const recorded = () => inTrace().filter((span) => span.name === 'chunkmill.record').length;
    // A chunk's record span may end just after its chunk span (recording ahead of the completion).
    await eventually(() => inTrace().filter((span) => span.name === 'chunkmill.chunk').length >= chunks && recorded() >= chunks, 15_000);
    return inTrace();
  }

  it('traces a compute workload from its submission through every chunk, fed later ones included, to the recording', async () => {
    const chunks = 7;
    const id = await chunkmill.api.submit({ type: 'compute', task: 'sumSquares', inputs: Array.from({ length: chunks }, (_, i) => i + 1), chunkSize: 1 });
    expect((await chunkmill.api.results(id)).status).toBe('completed');

    const submit = submitSpan(id);
    expect(submit.parentSpanContext).toBeUndefined();
    expect(submit.attributes).toMatchObject({
      'chunkmill.workload.id': id,
      'chunkmill.workload.type': 'compute',
      'chunkmill.workload.task': 'sumSquares',
      'chunkmill.workload.items': chunks,
      'chunkmill.workload.chunks': chunks,
      'chunkmill.workload.windowed': true,
    });

    const spans = await workerSpans(submit, chunks);
    const { spanId } = submit.spanContext();
    const chunkSpans = spans.filter((span) => span.name === 'chunkmill.chunk');
    expect(chunkSpans).toHaveLength(chunks);
    for (const chunk of chunkSpans) {
      expect(chunk.parentSpanId).toBe(spanId);
      expect(chunk.service).toBe('chunkmill-worker');
      expect(chunk.attributes).toMatchObject({
        'chunkmill.workload.id': id,
        'chunkmill.chunk.items': 1,
        'chunkmill.chunk.attempt': 1,
        'chunkmill.queue': 'compute',
        'chunkmill.worker.id': 'tracing-host',
        'chunkmill.chunk.outcome': 'recorded',
        'chunkmill.items.ran': 1,
        'chunkmill.items.failed': 0,
      });
    }
    // Every chunk, the ones fed after completions (past the window of 2) as well as the first ones.
    expect(chunkSpans.map((span) => span.attributes['chunkmill.chunk.index']).sort()).toEqual(Array.from({ length: chunks }, (_, i) => i));
    const chunkIds = new Set(chunkSpans.map((span) => span.spanId));
    for (const name of ['chunkmill.items', 'chunkmill.record']) {
      const children = spans.filter((span) => span.name === name);
      expect(children).toHaveLength(chunks);
      for (const child of children) expect(chunkIds.has(child.parentSpanId!)).toBe(true);
    }
    expect(spans.filter((span) => span.name === 'chunkmill.items')[0].attributes).toMatchObject({ 'chunkmill.items': 1, 'chunkmill.task': 'sumSquares' });
    // Nothing else in the trace: one root, and every span's parent is in it.
    const ids = new Set([spanId, ...spans.map((span) => span.spanId)]);
    for (const span of spans) expect(ids.has(span.parentSpanId!)).toBe(true);
  });

  it('traces each request of a fetch workload under its chunk', async () => {
    const urls = CITIES.slice(0, 6).map((city) => weather.weatherUrl(city));
    const id = await chunkmill.api.submit({ type: 'fetch', urls, extract: 'main.temp', chunkSize: 2, concurrency: 2 });
    expect((await chunkmill.api.results(id)).status).toBe('completed');
    const submit = submitSpan(id);
    expect(submit.attributes).toMatchObject({ 'chunkmill.workload.type': 'fetch', 'chunkmill.workload.items': 6, 'chunkmill.workload.chunks': 3 });

    const spans = await workerSpans(submit, 3);
    const chunkSpans = spans.filter((span) => span.name === 'chunkmill.chunk');
    for (const chunk of chunkSpans) expect(chunk.parentSpanId).toBe(submit.spanContext().spanId);
    const itemsParents = new Map(spans.filter((span) => span.name === 'chunkmill.items').map((span) => [span.spanId, span.parentSpanId]));
    const requests = spans.filter((span) => span.name === 'chunkmill.item');
    expect(requests).toHaveLength(urls.length);
    const port = Number(new URL(urls[0]).port);
    for (const request of requests) {
      // item ─▶ items ─▶ chunk
      expect(chunkSpans.some((chunk) => chunk.spanId === itemsParents.get(request.parentSpanId!))).toBe(true);
      expect(request.attributes).toMatchObject({
        'http.request.method': 'GET',
        'server.address': '127.0.0.1',
        'server.port': port,
        'http.response.status_code': 200,
      });
    }
    expect(requests.map((span) => span.attributes['chunkmill.item.index']).sort()).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it("records a failed request's code and origin, never its URL's key", async () => {
    const SECRET = 'secret-key-4f1e9a';
    // Two URLs redirecting to each other: the item fails with FETCH_REDIRECTS, "Redirect loop: <URL> ...".
    const looping = http.createServer((req, res) => {
      const next = req.url!.startsWith('/a') ? '/b' : '/a';
      res.writeHead(302, { location: `${next}?key=${SECRET}` }).end();
    });
    await new Promise<void>((resolve) => looping.listen(0, '127.0.0.1', resolve));
    const origin = `http://127.0.0.1:${(looping.address() as AddressInfo).port}`;
    try {
      const id = await chunkmill.api.submit({ type: 'fetch', urls: [`${origin}/a?key=${SECRET}`] });
      const results = await chunkmill.api.results(id);
      // The item's error, in its owner's results, says which URL looped.
      expect(results.errors).toEqual([{ index: 0, code: 'FETCH_REDIRECTS', message: `Redirect loop: ${origin}/a?key=${SECRET} was already visited` }]);

      const spans = await workerSpans(submitSpan(id), 1);
      const [request] = spans.filter((span) => span.name === 'chunkmill.item');
      expect(request.status?.code).toBe(2);
      const event = (request as unknown as { events: Array<{ name: string; attributes: OtlpAttribute[] }> }).events[0];
      expect(event.name).toBe('exception');
      expect(attributesOf(event.attributes)).toEqual({
        'exception.type': 'FETCH_REDIRECTS',
        'exception.message': `Redirect loop: ${origin} was already visited`,
      });
      // Nowhere in any span: attributes, events, status.
      expect(spans.filter((span) => JSON.stringify(span).includes(SECRET))).toEqual([]);
      // Nor in any line the worker host logged.
      expect(chunkmill.worker.output.filter((line) => line.includes(SECRET))).toEqual([]);
    } finally {
      looping.closeAllConnections();
      await new Promise((resolve) => looping.close(resolve));
    }
  });
});
