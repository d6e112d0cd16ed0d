/**
 * Every error in the one envelope, `{"error": {"code", "message", "details"}}`: a 401 that names its
 * scheme (WWW-Authenticate), bodies that are JSON but not an object (called what they are), body-parser's
 * refusals, and what Node's HTTP parser refuses before Express sees it (431 headers too large, 400
 * malformed). The OpenAPI document lists 429 (with Retry-After) on every operation that can answer it.
 */
import net from 'node:net';
import { startProducerHarness, type ProducerHarness } from '../utils/producer-harness';

const TOKEN = 'shape-token-1f2e3d4c';

/** Sends raw bytes and answers the status line, headers and body of the reply. */
function rawRequest(port: number, bytes: string): Promise<{ status: number; headers: string; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let text = '';
    socket.on('data', (part) => (text += part.toString()));
    socket.on('error', reject);
    socket.on('close', () => {
      const [head, body = ''] = text.split('\r\n\r\n');
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]), headers: head, body });
    });
    socket.write(bytes);
  });
}

describe('error shapes', () => {
  let harness: ProducerHarness;
  let port: number;
  const envelope = expect.objectContaining({ error: { code: expect.any(String), message: expect.any(String), details: expect.any(Array) } });

  beforeAll(async () => {
    harness = await startProducerHarness('error-shapes', { API_TOKENS: `shaper:${TOKEN}` });
    port = Number(new URL(harness.api.baseUrl).port);
  });
  afterAll(async () => harness?.close());

  const post = (body: string, headers: Record<string, string> = {}) =>
    harness.api.request('POST', '/v1/workloads', body, { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', ...headers });

  it('a 401 says WWW-Authenticate: Bearer, and invalid_token when the token was wrong', async () => {
    const none = await harness.api.get('/v1/tasks');
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer realm="chunkmill"');
    expect(none.body).toEqual(envelope);
    const wrong = await harness.api.request('GET', '/v1/tasks', undefined, { authorization: 'Bearer nope' });
    expect(wrong.headers.get('www-authenticate')).toBe('Bearer realm="chunkmill", error="invalid_token"');
  });

  it.each([
    ['null', 'JSON null'],
    ['42', 'a JSON number'],
    ['"text"', 'a JSON string'],
    ['true', 'a JSON boolean'],
    ['[{"type":"compute"}]', 'a JSON array'],
  ])('a body of %s is called %s', async (body, kind) => {
    const answer = await post(body);
    expect(answer.status).toBe(400);
    expect(answer.body.error).toEqual({
      code: 'VALIDATION_FAILED',
      message: `The request body is ${kind}; send a workload, a JSON object with "type".`,
      details: [{ path: '', message: 'expected a JSON object' }],
    });
  });

  it("body-parser's refusals and a path that is not valid percent-encoding are in the envelope", async () => {
    const notJson = await post('{"type":');
    expect([notJson.status, notJson.body.error.message]).toEqual([400, 'The request body is not valid JSON.']);
    const badPath = await harness.api.request('GET', '/v1/workloads/%E0%A4%A', undefined, { authorization: `Bearer ${TOKEN}` });
    expect(badPath.status).toBe(400);
    expect(badPath.body).toEqual(envelope);
    expect(badPath.body.error.message).toBe('The request path is not valid percent-encoding.');
  });

  it('headers too large: 431 in the envelope', async () => {
    const answer = await rawRequest(port, `GET /v1/tasks HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    expect(answer.status).toBe(431);
    expect(answer.headers).toMatch(/content-type: application\/json/i);
    expect(JSON.parse(answer.body)).toEqual({ error: { code: 'HEADERS_TOO_LARGE', message: expect.any(String), details: [] } });
  });

  it('a malformed request: 400 in the envelope', async () => {
    for (const bytes of ['NOT A REQUEST\r\n\r\n', 'GET /v1/tasks HTTP/1.1\r\nHost: x\r\nBad Header Name: 1\r\n\r\n']) {
      const answer = await rawRequest(port, bytes);
      expect(answer.status).toBe(400);
      expect(JSON.parse(answer.body)).toEqual({ error: { code: 'MALFORMED_REQUEST', message: 'The request is not valid HTTP.', details: [] } });
    }
  });

  it('OpenAPI lists 429 with Retry-After on every /v1 operation, and WWW-Authenticate on its 401', async () => {
    const document = (await harness.api.get('/openapi.json')).body;
    const operations = Object.entries(document.paths as Record<string, Record<string, any>>)
      .filter(([path]) => path.startsWith('/v1/'))
      .flatMap(([path, methods]) => Object.entries(methods).map(([method, operation]) => ({ name: `${method} ${path}`, operation })));
    expect(operations.length).toBeGreaterThanOrEqual(10);
    for (const { name, operation } of operations) {
      expect([name, Object.keys(operation.responses['429']?.headers ?? {})]).toEqual([name, ['Retry-After']]);
      expect([name, Object.keys(operation.responses['401']?.headers ?? {})]).toEqual([name, ['WWW-Authenticate']]);
    }
  });
});
