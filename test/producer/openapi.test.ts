/**
 * `/openapi.json` against what the producer really answers: every route of the Express app (found by
 * walking its router stack) is in the document, and every request example in the README validates
 * against the document's request schema (ajv, JSON Schema draft 2020-12 as OpenAPI 3.1 uses).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { execFile } from 'node:child_process';
import Ajv2020 from 'ajv/dist/2020';
import { LIMITS } from '../../src/contract';
import { OpenApiValidator, OpenApiViolation, validatingFetch } from '../utils/openapi-validator';
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

/** The producer's answers, checked against its OpenAPI document (the docs page's assets are not in it, and pass unchecked). */
const fetch = validatingFetch();

function documentRoutes(document: { paths: Record<string, Record<string, unknown>> }): string[] {
  return Object.entries(document.paths).flatMap(([routePath, operations]) => Object.keys(operations).map((method) => `${method.toUpperCase()} ${routePath}`));
}

/** The JSON bodies of every `curl ... -d '{...}'` in a markdown text. */
function curlBodies(markdown: string): unknown[] {
  const bodies: unknown[] = [];
  for (const match of markdown.matchAll(/curl\b[^`]*?-d\s+'([^']*)'/g)) bodies.push(JSON.parse(match[1]));
  return bodies;
}

/** Reads a document on stdin and validates it with @apidevtools/swagger-parser (schema and semantics). */
const SWAGGER_PARSER_SCRIPT = `
const SwaggerParser = require('@apidevtools/swagger-parser');
let text = '';
process.stdin.on('data', (chunk) => (text += chunk)).on('end', async () => {
  try {
    const api = await SwaggerParser.validate(JSON.parse(text));
    process.stdout.write('valid ' + api.openapi + '\\n');
  } catch (error) {
    process.stderr.write(String(error && error.message) + '\\n');
    process.exitCode = 1;
  }
});`;

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
  afterEach(() => expect(fetch.violations.splice(0).map((violation) => violation.message)).toEqual([]));

  it('is OpenAPI 3.1 and describes every route the producer answers, and no other', () => {
    expect(document.openapi).toBe('3.1.0');
    const routes = appRoutes((producer.producer.app as unknown as { router: { stack: Layer[] } }).router.stack);
    expect(routes).toEqual(expect.arrayContaining(['POST /v1/workloads', 'GET /v1/workloads/{id}/events', 'GET /healthz']));
    // The reference page's own script is an asset of /docs, not an API route.
    expect(new Set(documentRoutes(document))).toEqual(new Set(routes.filter((route) => route !== 'GET /docs/docs-init.js')));
  });

  it('is a valid OpenAPI 3.1 document to a third-party validator (swagger-parser), without jsonSchemaDialect', async () => {
    expect(document.jsonSchemaDialect).toBeUndefined();
    // In a child process: swagger-parser's dependencies are ES modules, which Jest's CommonJS runtime cannot load.
    const verdict = await new Promise<{ code: number; output: string }>((resolve) => {
      const child = execFile(process.execPath, ['-e', SWAGGER_PARSER_SCRIPT], (error, stdout, stderr) =>
        resolve({ code: error ? 1 : 0, output: `${stdout}${stderr}` }),
      );
      child.stdin!.end(JSON.stringify(document));
    });
    expect(verdict).toEqual({ code: 0, output: 'valid 3.1.0\n' });
  });

  it("takes its schemas from the contract: the fields' descriptions and bounds", () => {
    const fetchSubmission = document.components.schemas.FetchSubmission;
    expect(fetchSubmission.properties.concurrency).toMatchObject({
      maximum: LIMITS.maxFetchConcurrency,
      description: expect.stringContaining('whole workload'),
    });
    expect(fetchSubmission.properties.maxResponseBytes).toMatchObject({ maximum: LIMITS.maxMaxResponseBytes });
    expect(document.components.schemas.WorkloadSubmission.oneOf).toEqual([
      { $ref: '#/components/schemas/ComputeSubmission' },
      { $ref: '#/components/schemas/FetchSubmission' },
    ]);
    for (const name of [
      'Workload',
      'SubmitAnswer',
      'WorkloadResults',
      'ResultsLine',
      'ProgressData',
      'ResultEvent',
      'WorkerList',
      'TaskList',
      'StoredArray',
      'Error',
    ]) {
      expect(document.components.schemas[name]).toBeDefined();
    }
    const events = document.paths['/v1/workloads/{id}/events'].get.responses['200']['x-event-data'];
    expect(Object.keys(events).sort()).toEqual(['done', 'error', 'progress', 'result']);
  });

  it('the answer validator refuses an answer that does not match the document', () => {
    const validator = new OpenApiValidator(document);
    const ok = { id: 'w1', status: 'queued', total: 1, chunks: 1 };
    const submit = (body: unknown, status = 202) =>
      validator.check({ method: 'POST', path: '/v1/workloads', status, contentType: 'application/json; charset=utf-8', text: JSON.stringify(body) });
    expect(() => submit(ok)).not.toThrow();
    expect(() => submit({ ...ok, chunks: 'one' })).toThrow(OpenApiViolation);
    expect(() => submit({ ...ok, status: 'sleeping' })).toThrow(/SubmitAnswer|status/);
    expect(() => submit({ id: 'w1', status: 'queued', total: 1 })).toThrow(/chunks/);
    expect(() => submit({ ...ok, surplus: 1 })).toThrow(OpenApiViolation);
    expect(() => submit({ error: { code: 'X', message: 'm' } }, 400)).toThrow(/details/);
    expect(() => validator.check({ method: 'GET', path: '/healthz', status: 201, contentType: 'application/json', text: '{"status":"ok"}' })).toThrow(
      /not documented/,
    );
    expect(() => validator.check({ method: 'GET', path: '/v1/workloads/w1', status: 200, contentType: 'text/html', text: '<html></html>' })).toThrow(
      /Content-Type/,
    );
    const lines = (text: string) => () =>
      validator.check({ method: 'GET', path: '/v1/workloads/w1/results?offset=1', status: 200, contentType: 'application/x-ndjson', text });
    expect(lines('{"id":"w1","status":"running","total":2,"completed":1,"failed":0}\n{"index":1,"value":4}\n')).not.toThrow();
    expect(lines('{"id":"w1","status":"running","total":2,"completed":1,"failed":0}\n{"index":"1","value":4}\n')).toThrow(/line 2/);
    const events = (text: string) => () =>
      validator.check({ method: 'GET', path: '/v1/workloads/w1/events', status: 200, contentType: 'text/event-stream; charset=utf-8', text });
    expect(
      events(
        'event: progress\ndata: {"status":"running","completed":1,"failed":0,"total":2}\n\n: keep-alive\n\nevent: result\ndata: {"index":0,"value":1}\n\n',
      ),
    ).not.toThrow();
    expect(events('event: progress\ndata: {"status":"running","completed":1}\n\n')).toThrow(/event progress/);
    expect(events('event: surprise\ndata: {}\n\n')).toThrow(/not documented/);
    // A path the document does not describe is not the API's: not checked.
    expect(() => validator.check({ method: 'GET', path: '/dashboard/x', status: 200, contentType: 'text/html', text: 'x' })).not.toThrow();
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
    ajv.addSchema(document, 'openapi.json');
    const validate = ajv.getSchema('openapi.json#/components/schemas/WorkloadSubmission')!;
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
