/**
 * One HTTP exchange of a fetch item: a single request and its answer, no redirect followed. It holds a
 * slot (the `gate`: the workload's concurrency and the origin's perHostConcurrency) from before the
 * request is sent until its body is read, and must end within the item's `timeoutMs`.
 */
import { request, type Agent, type Dispatcher } from 'undici';
import { ItemError, ItemErrorCode } from '../../core/errors';
import type { FetchOptions } from '../../core/workload';
import { bodyValue, readCapped } from './response-body';

/** Largest redirect or discarded body read before its connection is dropped instead of reused. */
const DISCARD_LIMIT_BYTES = 64 * 1024;
/** An answer with one of these statuses and a Location is a redirect: its body is discarded, not read. */
const REDIRECT_STATUSES: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);

/** Waits for the slots one HTTP exchange to `origin` needs; answers the function that gives them back. */
export type SlotGate = (origin: string, signal: AbortSignal) => Promise<() => void>;

/** Told of each HTTP exchange once it is over (status undefined: no answer). */
export type ExchangeObserver = (status: number | undefined, durationMs: number) => void;

/** What every exchange of one fetch item shares. */
export interface ExchangeContext {
  agent: Agent;
  options: FetchOptions;
  /** The chunk's signal: aborting it ends the exchange. */
  signal: AbortSignal;
  gate: SlotGate;
  onExchange?: ExchangeObserver;
}

export interface Answer {
  status: number;
  headers: Dispatcher.ResponseData['headers'];
  bytes: number;
  value: unknown;
  /** Set on a redirect to follow. */
  location?: string;
}

/** One HTTP exchange, holding its slots from before the request until the body is read. */
export async function exchange(
  { agent, options, signal, gate, onExchange }: ExchangeContext,
  url: URL,
  method: string,
  headers: Record<string, string>,
  body: string | undefined,
): Promise<Answer> {
  const releaseSlots = await gate(url.origin, signal);
  const sent = performance.now();
  let status: number | undefined;
  let released = false;
  const release = (): void => {
    if (released) return;
    released = true;
    releaseSlots();
    onExchange?.(status, performance.now() - sent);
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

function toNetworkError(error: unknown, url: URL): ItemError {
  const { code, message } = error as { code?: string; message?: string };
  if (code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
    return new ItemError(ItemErrorCode.FETCH_TIMEOUT, `${url.origin}: ${message ?? code}`);
  }
  const cause = (error as { cause?: { code?: string } }).cause?.code;
  return new ItemError(ItemErrorCode.FETCH_NETWORK, `${url.origin}: ${[code ?? cause, message].filter(Boolean).join(' ')}`);
}
