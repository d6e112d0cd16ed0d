/**
 * `/openapi.json` against what the producer really answers: every route of the Express app (found by
 * walking its router stack) is in the document, and every request example in the README validates
 * against the document's request schema (ajv, JSON Schema draft 2020-12 as OpenAPI 3.1 uses).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import { startProducerHarness, type ProducerHarness } from '../utils/producer-harness';

interface Layer {
  rawPath?: string;
  route?: { path: string; methods: Record<string, boolean> };
  handle: { stack?: Layer[] };
}

/** "METHOD /path/{param}" for every route the app answers, mounted routers included. */
function appRoutes(stack: Layer[], prefix = ''): string[] {
  return stack.flatMap((layer) => {
    if (layer.route) {
      const routePath = `${prefix}${layer.route.path}`.replace(/:(\w+)/g, '{$1}');
      return Object.keys(layer.route.methods)
        .filter((method) => method !== '_all')
        .map((method) => `${method.toUpperCase()} ${routePath}`);
    }
    if (layer.handle.stack) return appRoutes(layer.handle.stack, `${prefix}${layer.rawPath === '/' ? '' : (layer.rawPath ?? '')}`);
    return [];
  });
}

function documentRoutes(document: { paths: Record<string, Record<string, unknown>> }): string[] {
  return Object.entries(document.paths).flatMap(([routePath, operations]) => Object.keys(operations).map((method) => `${method.toUpperCase()} ${routePath}`));
}

/** The JSON bodies of every `curl ... -d '{...}'` in a markdown text. */
function curlBodies(markdown: string): unknown[] {
  const bodies: unknown[] = [];
  for (const match of markdown.matchAll(/curl\b[^`]*?-d\s+'([^']*)'/g)) bodies.push(JSON.parse(match[1]));
  return bodies;
}

describe('OpenAPI document', () => {
  let producer: ProducerHarness;
  let document: any;
  beforeAll(async () => {
    producer = await startProducerHarness('openapi');
    const answer = await producer.api.get('/openapi.json');
    expect(answer.status).toBe(200);
    document = answer.body;
  });
  afterAll(async () => producer.close());

  it('is OpenAPI 3.1 and describes every route the producer answers, and no other', () => {
    expect(document.openapi).toBe('3.1.0');
    const routes = appRoutes((producer.producer.app as unknown as { router: { stack: Layer[] } }).router.stack);
    expect(routes).toEqual(expect.arrayContaining(['POST /v1/workloads', 'GET /v1/workloads/{id}/events', 'GET /healthz']));
    // The reference page's own script is an asset of /docs, not an API route.
    expect(new Set(documentRoutes(document))).toEqual(new Set(routes.filter((route) => route !== 'GET /docs/docs-init.js')));
  });

  it('documents 410 WORKLOAD_LOST wherever a workload id is answered', () => {
    const operations = Object.entries(document.paths as Record<string, Record<string, { responses: Record<string, unknown> }>>)
      .filter(([routePath]) => routePath.startsWith('/v1/workloads/{id}'))
      .flatMap(([routePath, methods]) => Object.entries(methods).map(([method, operation]) => [`${method} ${routePath}`, Object.keys(operation.responses)]));
    expect(operations).toHaveLength(4);
    for (const [, statuses] of operations) expect(statuses).toEqual(expect.arrayContaining(['404', '410']));
  });

  it('serves the API reference page and its assets without a token', async () => {
    const page = await fetch(`${producer.api.baseUrl}/docs`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('swagger-ui-bundle.js');
    for (const asset of ['/docs/swagger-ui-bundle.js', '/docs/swagger-ui.css', '/docs/docs-init.js']) {
      expect((await fetch(`${producer.api.baseUrl}${asset}`)).status).toBe(200);
    }
  });

  it('validates what the server accepts and rejects what it refuses (same schema)', () => {
    const ajv = new Ajv2020({ strict: false });
    const validate = ajv.compile({ ...document.components.schemas.WorkloadSubmission, $defs: undefined });
    expect(validate({ type: 'compute', task: 'sumSquares', inputs: [1] })).toBe(true);
    expect(validate({ type: 'compute', task: 'sumSquares', inputs: [1], chunksize: 2 })).toBe(false);
    expect(validate({ type: 'fetch', urls: ['http://api.example/x'], concurrency: 17 })).toBe(true);
  });

  it('documents the results pages and stream, and what the producer answers validates against them', async () => {
    const operation = document.paths['/v1/workloads/{id}/results'].get;
    expect(operation.parameters.map((parameter: { name: string }) => parameter.name)).toEqual(['id', 'wait', 'offset', 'limit']);
    expect(operation.parameters.find((parameter: { name: string }) => parameter.name === 'limit').schema).toMatchObject({ minimum: 1, maximum: 100000 });
    expect(Object.keys(operation.responses['200'].content)).toEqual(['application/json', 'application/x-ndjson']);
    const ajv = new Ajv2020({ strict: false });
    ajv.addSchema(document, 'openapi.json');
    const check = (schema: string, value: unknown): void => {
      const validate = ajv.getSchema(`openapi.json#/components/schemas/${schema}`)!;
      if (!validate(value)) throw new Error(`${JSON.stringify(value)} is not a ${schema}: ${ajv.errorsText(validate.errors)}`);
    };

    const id = await producer.api.submit({ type: 'compute', task: 'sumSquares', inputs: [1, 2, 3, 4], chunkSize: 2 });
    const page = await producer.api.get(`/v1/workloads/${id}/results?offset=1&limit=2`);
    expect(page.body).toMatchObject({ total: 4, offset: 1, results: [null, null] });
    check('WorkloadResults', page.body);
    const refused = await producer.api.get(`/v1/workloads/${id}/results?limit=0`);
    expect(refused.status).toBe(400);
    check('Error', refused.body);

    const stream = await fetch(`${producer.api.baseUrl}/v1/workloads/${id}/results`, { headers: { accept: 'application/x-ndjson' } });
    expect(stream.headers.get('content-type')).toMatch(/^application\/x-ndjson/);
    const lines = (await stream.text())
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(lines).toHaveLength(5);
    for (const line of lines) check('ResultsLine', line);
    for (const line of [
      { index: 3, value: null, error: { code: 'TASK_ERROR', message: 'no' } },
      { error: { code: 'WORKLOAD_LOST', message: 'gone', details: [{ id }] } },
    ])
      check('ResultsLine', line);
    expect(() => check('ResultsLine', { index: 3, value: 1, surplus: true })).toThrow();
  });

  it('every request example in the README validates against the document', async () => {
    const readme = readFileSync(path.resolve(__dirname, '../../README.md'), 'utf8');
    const bodies = curlBodies(readme);
    expect(bodies.length).toBeGreaterThanOrEqual(2);
    const ajv = new Ajv2020({ strict: false });
    ajv.addSchema(document, 'openapi.json');
    const validate = ajv.getSchema('openapi.json#/components/schemas/WorkloadSubmission')!;
    for (const body of bodies) {
      if (!validate(body)) throw new Error(`README example ${JSON.stringify(body)} does not validate: ${ajv.errorsText(validate.errors)}`);
      // ...and the server agrees (compute examples; fetch ones would reach out): 202. An array example's
      // inputs are PUT first, as the README does.
      const { x, y } = (body as { arrays?: { x?: string; y?: string } }).arrays ?? {};
      for (const name of [x, y].filter(Boolean)) {
        const put = await fetch(`${producer.api.baseUrl}/v1/arrays/${name}`, {
          method: 'PUT',
          headers: { 'content-type': 'application/octet-stream' },
          body: Buffer.alloc(64),
        });
        expect(put.status).toBe(200);
      }
      if ((body as { type?: string }).type === 'compute') expect((await producer.api.post('/v1/workloads', body)).status).toBe(202);
    }
  });
});
