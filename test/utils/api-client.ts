/**
 * A tiny HTTP client for the producer API, for tests (loopback only). Every answer is checked against
 * the producer's OpenAPI document (openapi-validator.ts): one that does not match fails the test.
 */
import { openApiValidator, type OpenApiValidator } from './openapi-validator';

export interface ApiAnswer<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

export class ApiClient {
  constructor(
    readonly baseUrl: string,
    private readonly token?: string,
    /** Checks each answer (by default against the producer's document); `null` checks nothing. */
    private readonly validator?: OpenApiValidator | null,
  ) {}

  async request<T = any>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiAnswer<T>> {
    const response = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: {
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
        ...headers,
      },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await response.text();
    (this.validator === undefined ? openApiValidator() : this.validator)?.check({
      method,
      path,
      status: response.status,
      contentType: response.headers.get('content-type'),
      text,
    });
    let parsed: unknown = text;
    try {
      parsed = text.length > 0 ? JSON.parse(text) : undefined;
    } catch {
      // leave it as text
    }
    return { status: response.status, body: parsed as T, headers: response.headers };
  }

  post<T = any>(path: string, body?: unknown, headers?: Record<string, string>): Promise<ApiAnswer<T>> {
    return this.request<T>('POST', path, body, headers);
  }

  get<T = any>(path: string): Promise<ApiAnswer<T>> {
    return this.request<T>('GET', path);
  }

  delete<T = any>(path: string): Promise<ApiAnswer<T>> {
    return this.request<T>('DELETE', path);
  }

  /** Submits a workload and expects 202; answers its id. */
  async submit(workload: Record<string, unknown>): Promise<string> {
    const answer = await this.post('/v1/workloads', workload);
    if (answer.status !== 202) throw new Error(`expected 202, got ${answer.status}: ${JSON.stringify(answer.body)}`);
    return answer.body.id as string;
  }

  /** Long-polls until the workload is final (or `waitMs` passes) and answers its results. */
  async results(id: string, waitMs = 30_000): Promise<any> {
    const answer = await this.get(`/v1/workloads/${id}/results?wait=${waitMs}`);
    if (answer.status !== 200) throw new Error(`results: ${answer.status} ${JSON.stringify(answer.body)}`);
    return answer.body;
  }
}
