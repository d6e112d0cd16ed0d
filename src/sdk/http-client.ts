/**
 * The SDK's HTTP layer over global `fetch`: bearer token, JSON in and out, the server's error envelope
 * turned into ChunkmillApiError, an unreachable server into ChunkmillConnectionError, and an aborted
 * signal into its reason (never wrapped, so `error === signal.reason` holds).
 */
import { ChunkmillApiError, ChunkmillConnectionError, apiErrorOf } from './errors';

export interface RequestOptions {
  body?: unknown;
  /** Sent as is, as `application/octet-stream`, instead of a JSON `body`. */
  bytes?: Uint8Array;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

export class HttpClient {
  private readonly baseUrl: string;

  constructor(
    baseUrl: string,
    private readonly token: string | undefined,
    private readonly fetchImpl: typeof fetch = globalThis.fetch,
  ) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
  }

  async json<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const response = await this.send(method, path, options, 'application/json');
    const text = await response.text().catch((error: unknown) => {
      throw this.translate(error, options.signal);
    });
    return (text.length > 0 ? JSON.parse(text) : undefined) as T;
  }

  /** A request whose answer is raw bytes (`application/octet-stream`). */
  async binary(method: string, path: string, options: RequestOptions = {}): Promise<ArrayBuffer> {
    const response = await this.send(method, path, options, 'application/octet-stream');
    return response.arrayBuffer().catch((error: unknown) => {
      throw this.translate(error, options.signal);
    });
  }

  /** Opens a streaming GET (Server-Sent Events, or `accept`: NDJSON) and answers its body. */
  async stream(path: string, signal?: AbortSignal, accept = 'text/event-stream'): Promise<ReadableStream<Uint8Array>> {
    const response = await this.send('GET', path, { signal }, accept);
    if (!response.body) throw new ChunkmillConnectionError(`GET ${path} answered without a body`);
    return response.body as ReadableStream<Uint8Array>;
  }

  private async send(method: string, path: string, options: RequestOptions, accept: string): Promise<Response> {
    options.signal?.throwIfAborted();
    let response: Response;
    try {
      response = await this.fetchImpl(`${this.baseUrl}${path}`, {
        method,
        signal: options.signal,
        headers: {
          accept,
          ...(options.bytes !== undefined
            ? { 'content-type': 'application/octet-stream' }
            : options.body === undefined
              ? {}
              : { 'content-type': 'application/json' }),
          ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
          ...options.headers,
        },
        body: options.bytes ?? (options.body === undefined ? undefined : JSON.stringify(options.body)),
      });
    } catch (error) {
      throw this.translate(error, options.signal);
    }
    if (!response.ok) throw await this.apiError(method, path, response);
    return response;
  }

  private translate(error: unknown, signal: AbortSignal | undefined): unknown {
    if (signal?.aborted) return signal.reason;
    if (error instanceof ChunkmillApiError) return error;
    const cause = (error as { cause?: { code?: string; message?: string } })?.cause;
    const why = cause?.code ?? cause?.message ?? (error as Error)?.message ?? String(error);
    return new ChunkmillConnectionError(`cannot reach chunkmill at ${this.baseUrl} (${why})`, { cause: error });
  }

  private async apiError(method: string, path: string, response: Response): Promise<ChunkmillApiError> {
    const text = await response.text().catch(() => '');
    try {
      const envelope = JSON.parse(text) as { error?: { code?: unknown; message?: unknown; details?: unknown } };
      const { code, message, details } = envelope.error ?? {};
      if (typeof code === 'string') {
        return apiErrorOf(code, String(message ?? code), response.status, Array.isArray(details) ? details : []);
      }
    } catch {
      // not the error envelope (a proxy's page, say): described by its status below
    }
    return new ChunkmillApiError(`HTTP_${response.status}`, `${method} ${path} answered ${response.status} ${text.slice(0, 200)}`.trim(), response.status);
  }
}
