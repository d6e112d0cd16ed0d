/**
 * Makes one fetch item's request, on this process's event loop, through an undici Agent per workload
 * (keep-alive, every socket opened by the SSRF guard's connector). The agent's connection cap per origin
 * is the workload's perHostConcurrency, so undici itself never opens more sockets to one host than that
 * in this process — a limiter alone would not do, since undici may open a new socket for a request sent
 * the instant an earlier one ended, before it has taken that socket back. An agent no chunk uses is
 * parked, warm, for its keep-alive time: the next chunk of any workload with the same perHostConcurrency
 * takes it, connections and all. Workloads running at the same time never share one; workloads that
 * follow each other to the same API skip opening (and the server closing) their connections anew, which
 * cost about a tenth of a worker's CPU per 2,000-request workload (bench/fetch-throughput.ts).
 *
 * One item is: up to `1 + retries` attempts; an attempt follows up to MAX_REDIRECTS redirects itself (so
 * every hop's URL is checked, and its address when a new connection is opened); each hop is one HTTP
 * exchange that holds a slot (the `gate`: the workload's concurrency and the origin's perHostConcurrency)
 * from before the request is sent until its body is read, and must end within `timeoutMs`.
 *
 * Retried: network errors, timeouts, 5xx and 429 (after Retry-After when the server sends one, else
 * exponential backoff with full jitter). Not retried: refused addresses, bodies over the cap, redirect
 * loops — the same request would fail the same way. The last 5xx/429 answer is the item's result.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request, type Dispatcher } from 'undici';
import { ItemError, ItemErrorCode } from '../core/errors';
import { extractValue } from '../core/extract-path';
import type { FetchItemResult, FetchOptions, FetchRequestSpec } from '../core/workload';
import { guardedConnector, type AddressGuard } from './address-guard';
import { backoffDelayMs, retryAfterMs } from './retry-delay';

export const MAX_REDIRECTS = 5;
/** Largest redirect or discarded body read before its connection is dropped instead of reused. */
const DISCARD_LIMIT_BYTES = 64 * 1024;
const REDIRECT_STATUSES: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);
const RETRIED_CODES: ReadonlySet<string> = new Set([ItemErrorCode.FETCH_NETWORK, ItemErrorCode.FETCH_TIMEOUT]);
/** Headers that carry credentials: not sent on to another origin by a redirect. */
const CREDENTIAL_HEADERS: ReadonlySet<string> = new Set(['authorization', 'cookie', 'proxy-authorization']);

/** Waits for the slots one HTTP exchange to `origin` needs; answers the function that gives them back. */
export type SlotGate = (origin: string, signal: AbortSignal) => Promise<() => void>;

export interface HttpFetcherOptions {
  guard: AddressGuard;
  /** How long an idle keep-alive connection (and a workload's agent without chunks) is kept. @defaultValue 4000 */
  keepAliveTimeoutMs?: number;
  /** undici's connector by default; tests pass one that dials their local server. */
  dial?: Parameters<typeof guardedConnector>[1];
  /** Called after each HTTP exchange (status undefined: no answer), for metrics. */
  onExchange?: (status: number | undefined, durationMs: number) => void;
}

interface Answer {
  status: number;
  headers: Dispatcher.ResponseData['headers'];
  bytes: number;
  value: unknown;
  /** Set on a redirect to follow. */
  location?: string;
}

/** Fetch item errors that another chunk attempt could not change. */
export function isPermanentFetchError(error: ItemError): boolean {
  return !RETRIED_CODES.has(error.code);
}

interface WorkloadAgent {
  agent: Agent;
  perHostConcurrency: number;
  /** Chunks using it now. */
  users: number;
}

interface ParkedAgent {
  agent: Agent;
  closeTimer: NodeJS.Timeout;
}

export class HttpFetcher {
  /** Agents in use, by workload. */
  private readonly agents = new Map<string, WorkloadAgent>();
  /** Agents no chunk uses, by perHostConcurrency, most recently parked last. */
  private readonly parked = new Map<number, ParkedAgent[]>();
  private readonly connect: Parameters<typeof guardedConnector>[1];
  private readonly keepAliveTimeoutMs: number;
  private closed = false;

  constructor(private readonly options: HttpFetcherOptions) {
    this.connect = guardedConnector(options.guard, options.dial);
    this.keepAliveTimeoutMs = options.keepAliveTimeoutMs ?? 4000;
  }

  /**
   * The workload's agent for a chunk (its own, a parked one, or a new one); call the answer when the
   * chunk is done. Every chunk of a workload carries the same perHostConcurrency.
   */
  retain(workloadId: string, perHostConcurrency: number): () => void {
    let entry = this.agents.get(workloadId);
    if (!entry) {
      entry = { agent: this.unpark(perHostConcurrency) ?? this.newAgent(perHostConcurrency), perHostConcurrency, users: 0 };
      this.agents.set(workloadId, entry);
    }
    const held = entry;
    held.users++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      held.users--;
      if (held.users > 0 || this.agents.get(workloadId) !== held) return;
      this.agents.delete(workloadId);
      this.park(held);
    };
  }

  private newAgent(perHostConcurrency: number): Agent {
    return new Agent({
      connections: perHostConcurrency,
      keepAliveTimeout: this.keepAliveTimeoutMs,
      keepAliveMaxTimeout: Math.max(this.keepAliveTimeoutMs, 60_000),
      connect: this.connect,
    });
  }

  private unpark(perHostConcurrency: number): Agent | undefined {
    const entry = this.parked.get(perHostConcurrency)?.pop();
    if (!entry) return undefined;
    clearTimeout(entry.closeTimer);
    return entry.agent;
  }

  /** Keeps an agent no chunk uses for the keep-alive time, then closes it. */
  private park({ agent, perHostConcurrency }: WorkloadAgent): void {
    if (this.closed) {
      void agent.close().catch(() => undefined);
      return;
    }
    let shelf = this.parked.get(perHostConcurrency);
    if (!shelf) {
      shelf = [];
      this.parked.set(perHostConcurrency, shelf);
    }
    const entry: ParkedAgent = {
      agent,
      closeTimer: setTimeout(() => {
        const position = shelf.indexOf(entry);
        if (position >= 0) shelf.splice(position, 1);
        if (shelf.length === 0 && this.parked.get(perHostConcurrency) === shelf) this.parked.delete(perHostConcurrency);
        void agent.close().catch(() => undefined);
      }, this.keepAliveTimeoutMs).unref(),
    };
    shelf.push(entry);
  }

  /** One item of a workload retained by the caller: the result, or an ItemError once its retries are spent. */
  async fetch(workloadId: string, spec: FetchRequestSpec, options: FetchOptions, signal: AbortSignal, gate: SlotGate): Promise<FetchItemResult> {
    const agent = this.agents.get(workloadId)?.agent;
    if (!agent) throw new Error(`No agent for workload ${workloadId}: retain() it first`);
    const started = performance.now();
    for (let retry = 0; ; retry++) {
      let waitMs: number;
      try {
        const answer = await this.followRedirects(agent, spec, options, signal, gate);
        const retryable = answer.status >= 500 || answer.status === 429;
        if (!retryable || retry >= options.retries) {
          const ms = Math.round(performance.now() - started);
          const ok = answer.status >= 200 && answer.status < 300;
          return { url: spec.url, status: answer.status, ok, ms, bytes: answer.bytes, value: answer.value };
        }
        waitMs = retryAfterMs(answer.headers['retry-after']) ?? backoffDelayMs(retry);
      } catch (error) {
        if (signal.aborted || !(error instanceof ItemError)) throw error;
        if (isPermanentFetchError(error) || retry >= options.retries) throw error;
        waitMs = backoffDelayMs(retry);
      }
      await sleep(waitMs, undefined, { signal });
    }
  }

  /** Idempotent. Open connections are closed; requests still running fail. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const agents = [...this.agents.values()].map((entry) => entry.agent);
    for (const shelf of this.parked.values()) {
      for (const entry of shelf) {
        clearTimeout(entry.closeTimer);
        agents.push(entry.agent);
      }
    }
    this.agents.clear();
    this.parked.clear();
    await Promise.all(agents.map((agent) => agent.destroy()));
  }

  private async followRedirects(agent: Agent, spec: FetchRequestSpec, options: FetchOptions, signal: AbortSignal, gate: SlotGate): Promise<Answer> {
    let url = new URL(spec.url);
    let method = spec.method ?? 'GET';
    let body = spec.body;
    let headers: Record<string, string> = { ...spec.headers };
    const visited = new Set([url.href]);
    for (let hop = 0; ; hop++) {
      this.options.guard.checkUrl(url);
      const answer = await this.exchange(agent, url, method, headers, body, options, signal, gate);
      if (answer.location === undefined) return answer;
      if (hop >= MAX_REDIRECTS) throw new ItemError(ItemErrorCode.FETCH_REDIRECTS, `More than ${MAX_REDIRECTS} redirects (last to ${answer.location})`);
      let next: URL;
      try {
        next = new URL(answer.location, url);
      } catch {
        throw new ItemError(ItemErrorCode.FETCH_REDIRECTS, `Redirect to an invalid URL: ${answer.location.slice(0, 200)}`);
      }
      if (next.username !== '' || next.password !== '') throw new ItemError(ItemErrorCode.FETCH_REDIRECTS, 'Redirect to a URL with a user name or password: not followed');
      if (visited.has(next.href)) throw new ItemError(ItemErrorCode.FETCH_REDIRECTS, `Redirect loop: ${next.href} was already visited`);
      visited.add(next.href);
      // As browsers do: 303 (and 301/302 after a POST) turn into a GET without a body.
      if ((answer.status === 303 && method !== 'HEAD') || ((answer.status === 301 || answer.status === 302) && method === 'POST')) {
        method = 'GET';
        body = undefined;
        headers = withoutHeaders(headers, new Set(['content-type']));
      }
      if (next.origin !== url.origin) headers = withoutHeaders(headers, CREDENTIAL_HEADERS);
      url = next;
    }
  }

  /** One HTTP exchange, holding its slots from before the request until the body is read. */
  private async exchange(
    agent: Agent,
    url: URL,
    method: string,
    headers: Record<string, string>,
    body: string | undefined,
    options: FetchOptions,
    signal: AbortSignal,
    gate: SlotGate,
  ): Promise<Answer> {
    const releaseSlots = await gate(url.origin, signal);
    const sent = performance.now();
    let status: number | undefined;
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      releaseSlots();
      this.options.onExchange?.(status, performance.now() - sent);
    };
    // One controller per exchange, linked to the chunk's signal by hand: AbortSignal.any() per request
    // would pile listeners onto the long-lived chunk signal.
    const abort = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      abort.abort();
    }, options.timeoutMs);
    const onChunkAbort = (): void => abort.abort(signal.reason);
    signal.addEventListener('abort', onChunkAbort, { once: true });
    try {
      signal.throwIfAborted();
      const response = await request(url, {
        dispatcher: agent,
        method: method as Dispatcher.HttpMethod,
        headers,
        body,
        signal: abort.signal,
      });
      status = response.statusCode;
      const location = response.headers.location;
      if (REDIRECT_STATUSES.has(response.statusCode) && typeof location === 'string') {
        await response.body.dump({ limit: DISCARD_LIMIT_BYTES });
        return { status: response.statusCode, headers: response.headers, bytes: 0, value: null, location };
      }
      const content = await readCapped(response, options.maxResponseBytes);
      // The exchange is over once its body is in: its slots go to the next request now, and the parsing
      // waits for the end of this event-loop turn. The answers of a round of requests come in together;
      // this way every one of them has its successor sent before any is parsed, metered and recorded.
      release();
      await new Promise((resolve) => setImmediate(resolve));
      const value = method === 'HEAD' ? null : bodyValue(content, response.headers['content-type'], options.extract);
      return { status: response.statusCode, headers: response.headers, bytes: content.length, value };
    } catch (error) {
      if (error instanceof ItemError || signal.aborted) throw error;
      if (timedOut) throw new ItemError(ItemErrorCode.FETCH_TIMEOUT, `No complete answer from ${url.origin} within ${options.timeoutMs} ms`);
      throw toNetworkError(error, url);
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', onChunkAbort);
      release();
    }
  }
}

function withoutHeaders(headers: Record<string, string>, names: ReadonlySet<string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !names.has(name.toLowerCase())));
}

/**
 * The body, read as it streams in and dropped (connection included) as soon as it passes the cap. Read
 * through 'data' events rather than an async iterator: most bodies are one part, and the iterator's
 * machinery cost more than the read itself at thousands of responses a second.
 */
function readCapped(response: Dispatcher.ResponseData, maxBytes: number): Promise<Buffer> {
  const declared = Number(response.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) {
    response.body.destroy();
    return Promise.reject(new ItemError(ItemErrorCode.FETCH_TOO_LARGE, `The body is ${declared} bytes, over the ${maxBytes}-byte cap`));
  }
  const body = response.body;
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let bytes = 0;
    body.on('data', (part: Buffer) => {
      bytes += part.length;
      if (bytes > maxBytes) {
        body.destroy();
        reject(new ItemError(ItemErrorCode.FETCH_TOO_LARGE, `The body passed the ${maxBytes}-byte cap`));
        return;
      }
      parts.push(part);
    });
    body.once('end', () => resolve(parts.length === 1 ? parts[0] : Buffer.concat(parts, bytes)));
    body.once('error', reject);
  });
}

/**
 * A JSON body (by its content type) is parsed, then `extract` picks a value from it (null when the path
 * is missing or the body is not JSON). Without `extract`, the parsed JSON, or the text as is.
 */
function bodyValue(content: Buffer, contentType: string | string[] | undefined, extract: string | undefined): unknown {
  const type = (Array.isArray(contentType) ? contentType[0] : contentType ?? '').toLowerCase();
  const text = content.toString('utf8');
  if (/[/+]json\b/.test(type)) {
    try {
      const parsed = parseJson(text);
      return extract === undefined ? parsed : extractValue(parsed, extract);
    } catch {
      // Not JSON after all: fall through.
    }
  }
  return extract === undefined ? text : null;
}

/** 16 digits in a row: the shortest text that can hold an integer beyond 2^53 (9007199254740992). */
const LONG_DIGITS = /\d{16}/;

/**
 * JSON.parse that keeps integers beyond 2^53 exact, as decimal strings, where the runtime shows their
 * source. A text without 16 digits in a row cannot hold one: it is parsed without the reviver, which
 * costs a call per value.
 */
function parseJson(text: string): unknown {
  if (!LONG_DIGITS.test(text)) return JSON.parse(text);
  return JSON.parse(text, (_key, value: unknown, context?: { source?: string }) =>
    typeof value === 'number' && !Number.isSafeInteger(value) && context?.source && /^-?\d+$/.test(context.source) ? context.source : value,
  );
}

function toNetworkError(error: unknown, url: URL): ItemError {
  const { code, message } = error as { code?: string; message?: string };
  if (code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
    return new ItemError(ItemErrorCode.FETCH_TIMEOUT, `${url.origin}: ${message ?? code}`);
  }
  const cause = (error as { cause?: { code?: string } }).cause?.code;
  return new ItemError(ItemErrorCode.FETCH_NETWORK, `${url.origin}: ${[code ?? cause, message].filter(Boolean).join(' ')}`);
}
