/**
 * `Pool`: Python's `multiprocessing.Pool`, over a chunkmill cluster.
 *
 *   map          submit, wait, answer every result in input order (throws on a failed item); a big
 *                workload's results are read in pages of `resultsPageSize` items
 *   imap         yield results in input order as they become available; at most `lookAhead` items are
 *                submitted and not yet yielded at any time (the input is submitted in windows, each
 *                window's results read item by item from its event stream)
 *   imapUnordered  yield results in completion order, read item by item from the workload's event stream
 *   resultEntries  an existing workload's results, item by item, from the NDJSON results stream
 *   applyAsync   submit one item, answer a handle whose `get(timeoutMs)` waits for it
 *   fetch        a fetch workload (I/O: many URLs at once), results in input order
 *
 * Ownership: a call that submits a workload owns it until the call is done. When its AbortSignal
 * aborts, or an iterator is left early (`break`, `return`, an exception), the call cancels the
 * workloads it still owns (DELETE) and closes its streams. Calls on an existing id (`status`,
 * `results`, `events`) only stop waiting.
 *
 * Nothing waits forever for a workload the server lost (its Redis restarted without its data): the
 * server ends streams and long-polls with WORKLOAD_LOST, and every call throws `WorkloadLostError`.
 */
import { AsyncResult, type AsyncResultBackend } from './async-result';
import {
  COMPUTE_OPTION_FIELDS,
  FETCH_OPTION_FIELDS,
  type ComputeOptions,
  type ComputeSubmission,
  type FetchRequest,
  type FetchSubmissionOptions,
  type FetchResult,
  type FetchSubmission,
  type ProgressData,
  type ResultsAnswer,
  type Submission,
  type SubmitAnswer,
  type StoredArray,
  type TaskInfo,
  type WorkerInfo,
  type WorkloadEvent,
  type WorkloadStatus,
  type WorkloadView,
  type ResultEntry,
  type ResultsStreamHead,
} from './api-types';
import { apiErrorOf, ChunkmillApiError, ChunkmillConnectionError, ItemFailedError, WorkloadCancelledError } from './errors';
import { HttpClient } from './http-client';
import { readNdjson } from './ndjson-stream';
import { readSse } from './sse-stream';
import type { TaskInput, TaskMap, TaskName, TaskOutput } from './task-types';

const FINAL: ReadonlySet<WorkloadStatus> = new Set(['completed', 'failed', 'cancelled']);
/** How often an event stream that ended without `done` is reopened before giving up. */
const MAX_STREAM_RECONNECTS = 5;
const STREAM_RECONNECT_DELAY_MS = 250;
/**
 * The HTTP status of the errors an event stream or a results stream may end with (its own answer was a
 * 200): what a request for the workload would answer at that moment.
 */
const STREAMED_ERROR_STATUS: Record<string, number> = { WORKLOAD_LOST: 410, NOT_FOUND: 404, REDIS_UNAVAILABLE: 503 };

export interface PoolOptions {
  /** The producer API's base URL. @defaultValue `process.env.CHUNKMILL_URL`, else `http://127.0.0.1:3000` */
  url?: string;
  /** Bearer token for `/v1`. @defaultValue `process.env.CHUNKMILL_TOKEN` (none when unset) */
  token?: string;
  /** The longest single long-poll request while waiting for results, in ms. @defaultValue 30000 */
  pollMs?: number;
  /**
   * Items per results request when `map` and `fetch` read a workload's results: a bigger workload is read
   * in several pages, never as one body. At most 100000 (the server's limit). @defaultValue 100000
   */
  resultsPageSize?: number;
  /** The fetch implementation. @defaultValue `globalThis.fetch` */
  fetch?: typeof fetch;
}

export interface CallOptions {
  /** Aborting stops waiting, closes streams and cancels the workloads the call submitted. @defaultValue none */
  signal?: AbortSignal;
}

export interface SubmitOptions extends CallOptions {
  /** Sent as `Idempotency-Key`: a repeat answers the first workload and enqueues nothing. @defaultValue none */
  idempotencyKey?: string;
}

/** What a failed item becomes: thrown (`'throw'`) or put in its place as an `ItemFailedError` (`'yield'`). */
export type ErrorMode = 'throw' | 'yield';
export type Outcome<Output, Mode extends ErrorMode> = Mode extends 'yield' ? Output | ItemFailedError : Output;

/**
 * The options of `map`, `imap`, `imapUnordered` and `applyAsync`: the contract's compute submission
 * options (chunkSize, attempts, timeoutMs, priority, cache, ...; `chunkSize` is sent only when given,
 * else the server picks it), and the call's own.
 */
export interface MapOptions<Mode extends ErrorMode = 'throw'> extends Omit<ComputeOptions, 'reduce'>, SubmitOptions {
  /** What a failed item does. @defaultValue `'throw'` (an `ItemFailedError` for the lowest failed index) */
  errors?: Mode;
}

export interface ImapOptions<Mode extends ErrorMode = 'throw'> extends MapOptions<Mode> {
  /**
   * At most this many items are submitted and not yet yielded. Inputs longer than this go in windows
   * (workloads) of `floor(lookAhead / 2)` items, so the next window runs while you consume one.
   * @defaultValue 1000
   */
  lookAhead?: number;
}

/** The options of `fetch` and `submitFetch`: the contract's fetch submission options, and the call's own. */
export interface FetchOptions<Mode extends ErrorMode = 'throw'> extends FetchSubmissionOptions, SubmitOptions {
  /** What a failed item does. @defaultValue `'throw'` (an `ItemFailedError` for the lowest failed index) */
  errors?: Mode;
}

export interface ResultsOptions extends CallOptions {
  /** Long-poll up to this many ms for the workload to finish. @defaultValue 0 (answer at once) */
  waitMs?: number;
  /** The first item to answer. @defaultValue 0 */
  offset?: number;
  /** Items at most (1 to 100000). @defaultValue every item from `offset` */
  limit?: number;
}

/** A results stream: the workload as it was when the stream began, and its items in index order. */
export interface ResultsStream<Output = unknown> extends ResultsStreamHead {
  /** The index of the first entry. */
  offset: number;
  /** Every item of the range, in index order; read it once, or `return()` it to close the stream. */
  entries: AsyncGenerator<ResultEntry<Output>, void, undefined>;
}

/** One finished item as the event stream reports it. */
interface StreamItem {
  index: number;
  value: unknown;
  error?: { code: string; message: string };
}

const DEFAULTS = { pollMs: 30_000, lookAhead: 1000, resultsPageSize: 100_000 } as const;

/**
 * A client for a chunkmill cluster shaped like `multiprocessing.Pool`. `Tasks` types the task names:
 * any name, unknown input and output by default (`chunkmill`'s `Pool` defaults to the built-in tasks);
 * type your own with `new Pool<{ fib: { input: number; output: number | string } }>()` (`chunkmill` also
 * exports `BuiltInTaskTypes` and `TaskTypesOf`, which derives the map from task definitions).
 */
export class Pool<Tasks extends TaskMap = TaskMap> {
  private readonly http: HttpClient;
  private readonly options: Required<Omit<PoolOptions, 'token' | 'fetch'>>;
  private readonly backend: AsyncResultBackend;

  constructor(options: PoolOptions = {}) {
    this.options = {
      url: process.env.CHUNKMILL_URL ?? 'http://127.0.0.1:3000',
      ...DEFAULTS,
      ...Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)),
    } as Required<Omit<PoolOptions, 'token' | 'fetch'>>;
    this.http = new HttpClient(this.options.url, options.token ?? process.env.CHUNKMILL_TOKEN, options.fetch);
    this.backend = {
      waitForOne: async (id, timeoutMs, signal) => {
        const answer = await this.waitForResults(id, timeoutMs, signal);
        if (!FINAL.has(answer.status)) return { final: false };
        return { final: true, value: outcomes(answer, 'throw')[0] };
      },
      isFinal: async (id, signal) => FINAL.has((await this.status(id, { signal })).status),
      cancel: (id, callOptions) => this.cancel(id, callOptions),
    };
  }

  /** The base URL this pool talks to. */
  get url(): string {
    return this.options.url;
  }

  /**
   * Runs `task` over `inputs` and answers the outputs in input order, like `Pool.map`.
   * Throws `ItemFailedError` for the lowest failed index (or, with `errors: 'yield'`, puts it in that
   * item's place), `WorkloadCancelledError` when the workload was cancelled, `WorkloadLostError` when the
   * server lost its state (Redis restarted without its data), `ChunkmillApiError` when the server refused
   * the submission.
   */
  async map<Name extends TaskName<Tasks>, Mode extends ErrorMode = 'throw'>(
    task: Name,
    inputs: ReadonlyArray<TaskInput<Tasks, Name>>,
    options: MapOptions<Mode> = {},
  ): Promise<Array<Outcome<TaskOutput<Tasks, Name>, Mode>>> {
    const { id } = await this.submit(this.computeSubmission(task, inputs, options), options);
    return this.owning([id], options.signal, async () => {
      const answer = await this.allResults(id, options.signal);
      return outcomes(answer, options.errors ?? 'throw') as Array<Outcome<TaskOutput<Tasks, Name>, Mode>>;
    });
  }

  /**
   * Yields the outputs in input order as soon as each (and all before it) is done, like `Pool.imap`.
   * Look-ahead is bounded: at most `lookAhead` items are submitted and not yet yielded, and at most that
   * many results are buffered. Submission starts with the first `next()`. Leaving the loop early cancels
   * what is still running. Throws `WorkloadLostError` when the server lost a window's workload.
   */
  async *imap<Name extends TaskName<Tasks>, Mode extends ErrorMode = 'throw'>(
    task: Name,
    inputs: ReadonlyArray<TaskInput<Tasks, Name>>,
    options: ImapOptions<Mode> = {},
  ): AsyncGenerator<Outcome<TaskOutput<Tasks, Name>, Mode>, void, undefined> {
    const lookAhead = Math.max(1, options.lookAhead ?? DEFAULTS.lookAhead);
    const windowSize = inputs.length <= lookAhead ? inputs.length : Math.max(1, Math.floor(lookAhead / 2));
    const mode = options.errors ?? 'throw';
    interface Window {
      start: number;
      end: number;
      id: string;
    }
    const inFlight: Window[] = [];
    let nextStart = 0;
    let outstanding = 0; // submitted and not yet yielded
    const fill = async (): Promise<void> => {
      while (nextStart < inputs.length) {
        const end = Math.min(inputs.length, nextStart + windowSize);
        if (inFlight.length > 0 && outstanding + (end - nextStart) > lookAhead) return;
        const slice = inputs.slice(nextStart, end);
        const { id } = await this.submit(this.computeSubmission(task, slice, options), {
          signal: options.signal,
          idempotencyKey: options.idempotencyKey && `${options.idempotencyKey}:${nextStart}`,
        });
        inFlight.push({ start: nextStart, end, id });
        outstanding += end - nextStart;
        nextStart = end;
      }
    };
    try {
      await fill();
      while (inFlight.length > 0) {
        const window = inFlight[0];
        const buffered = new Map<number, StreamItem>();
        let wanted = 0;
        for await (const item of this.streamItems(window.id, options.signal)) {
          buffered.set(item.index, item);
          for (let ready = buffered.get(wanted); ready; ready = buffered.get(wanted)) {
            buffered.delete(wanted);
            wanted++;
            outstanding--;
            yield outcomeOf(window.id, ready, window.start, mode) as Outcome<TaskOutput<Tasks, Name>, Mode>;
            await fill();
          }
        }
        inFlight.shift();
      }
    } finally {
      await Promise.all(inFlight.map((window) => this.cancelQuietly(window.id)));
    }
  }

  /**
   * Yields the outputs in completion order, like `Pool.imap_unordered`, as the workload's event stream
   * reports them; the first result arrives while slower chunks still run. Use `imapUnorderedEntries`
   * to learn each result's index. Leaving the loop early cancels the workload. Throws
   * `WorkloadLostError` when the server lost the workload.
   */
  async *imapUnordered<Name extends TaskName<Tasks>, Mode extends ErrorMode = 'throw'>(
    task: Name,
    inputs: ReadonlyArray<TaskInput<Tasks, Name>>,
    options: MapOptions<Mode> = {},
  ): AsyncGenerator<Outcome<TaskOutput<Tasks, Name>, Mode>, void, undefined> {
    for await (const entry of this.imapUnorderedEntries(task, inputs, options)) {
      yield (options.errors === 'yield' && entry.error ? entry.error : entry.value) as Outcome<TaskOutput<Tasks, Name>, Mode>;
    }
  }

  /**
   * `imapUnordered` with each output's index: yields `{index, value}` in completion order, and for a
   * failed item (with `errors: 'yield'`) `{index, value: null, error}`.
   */
  async *imapUnorderedEntries<Name extends TaskName<Tasks>, Mode extends ErrorMode = 'throw'>(
    task: Name,
    inputs: ReadonlyArray<TaskInput<Tasks, Name>>,
    options: MapOptions<Mode> = {},
  ): AsyncGenerator<{ index: number; value: TaskOutput<Tasks, Name> | null; error?: ItemFailedError }, void, undefined> {
    const { id } = await this.submit(this.computeSubmission(task, inputs, options), options);
    let finished = false;
    try {
      for await (const item of this.streamItems(id, options.signal)) {
        const outcome = outcomeOf(id, item, 0, options.errors ?? 'throw');
        if (outcome instanceof ItemFailedError) yield { index: item.index, value: null, error: outcome };
        else yield { index: item.index, value: outcome as TaskOutput<Tasks, Name> };
      }
      finished = true;
    } finally {
      if (!finished) await this.cancelQuietly(id);
    }
  }

  /**
   * Submits one item and answers a handle to it, like `Pool.apply_async`. Aborting `signal` later
   * cancels the workload unless its result was already taken with `get()`.
   */
  async applyAsync<Name extends TaskName<Tasks>>(
    task: Name,
    input: TaskInput<Tasks, Name>,
    options: Omit<MapOptions, 'errors'> = {},
  ): Promise<AsyncResult<TaskOutput<Tasks, Name>>> {
    const { id } = await this.submit(this.computeSubmission(task, [input], options), options);
    const signal = options.signal;
    const onAbort = (): void => void this.cancelQuietly(id);
    signal?.addEventListener('abort', onAbort, { once: true });
    return new AsyncResult<TaskOutput<Tasks, Name>>(id, this.backend, () => signal?.removeEventListener('abort', onAbort));
  }

  /**
   * Fetches every URL (or request) on the cluster and answers the outcomes in input order: the
   * notebook's threaded weather fetch. A network error, timeout or refused address is a failed item
   * (`FETCH_*` codes); an HTTP error status is a result with `ok: false`.
   */
  async fetch<Value = unknown, Mode extends ErrorMode = 'throw'>(
    urls: ReadonlyArray<string | FetchRequest>,
    options: FetchOptions<Mode> = {},
  ): Promise<Array<Outcome<FetchResult<Value>, Mode>>> {
    const { id } = await this.submit(this.fetchSubmission(urls, options), options);
    return this.owning([id], options.signal, async () => {
      const answer = await this.allResults(id, options.signal);
      return outcomes(answer, options.errors ?? 'throw') as Array<Outcome<FetchResult<Value>, Mode>>;
    });
  }

  /**
   * Submits a compute workload without waiting for it (the server's chunk size when none is given);
   * follow it with `status`, `results`, `events`, or the CLI.
   */
  submitCompute<Name extends TaskName<Tasks>>(
    task: Name,
    inputs: ReadonlyArray<TaskInput<Tasks, Name>>,
    options: ComputeOptions & SubmitOptions = {},
  ): Promise<SubmitAnswer> {
    return this.submit(this.computeSubmission(task, inputs, options), options);
  }

  /** Submits a fetch workload without waiting for it (the server's chunk size when none is given). */
  submitFetch(urls: ReadonlyArray<string | FetchRequest>, options: Omit<FetchOptions, 'errors'> = {}): Promise<SubmitAnswer> {
    return this.submit(this.fetchSubmission(urls, options), options);
  }

  /** Submits a workload exactly as given: `POST /v1/workloads`. */
  submit(submission: Submission, options: SubmitOptions = {}): Promise<SubmitAnswer> {
    return this.http.json<SubmitAnswer>('POST', '/v1/workloads', {
      body: submission,
      signal: options.signal,
      headers: options.idempotencyKey ? { 'idempotency-key': options.idempotencyKey } : undefined,
    });
  }

  /**
   * `PUT /v1/arrays/:name`: stores `values` as raw little-endian Float64 bytes (no JSON), replacing any
   * array of that name; it expires after `ttlSeconds` (the server's result TTL by default).
   */
  putArray(name: string, values: Float64Array | ArrayLike<number>, options: CallOptions & { ttlSeconds?: number } = {}): Promise<StoredArray> {
    const query = options.ttlSeconds === undefined ? '' : `?ttl=${options.ttlSeconds}`;
    return this.http.json<StoredArray>('PUT', `/v1/arrays/${encodeURIComponent(name)}${query}`, { bytes: toLittleEndian(values), signal: options.signal });
  }

  /** `GET /v1/arrays/:name`: the array. Throws `ChunkmillApiError` `NOT_FOUND` when there is none. */
  async getArray(name: string, options: CallOptions = {}): Promise<Float64Array> {
    return fromLittleEndian(await this.http.binary('GET', `/v1/arrays/${encodeURIComponent(name)}`, options));
  }

  /** `DELETE /v1/arrays/:name`. Throws `ChunkmillApiError` `NOT_FOUND` when there is none. */
  async deleteArray(name: string, options: CallOptions = {}): Promise<void> {
    await this.http.binary('DELETE', `/v1/arrays/${encodeURIComponent(name)}`, options);
  }

  /** `GET /v1/workloads/:id`: status and counters. */
  status(id: string, options: CallOptions = {}): Promise<WorkloadView> {
    return this.http.json<WorkloadView>('GET', `/v1/workloads/${encodeURIComponent(id)}`, options);
  }

  /**
   * `GET /v1/workloads/:id/results`, long-polling up to `waitMs` (in steps of at most `pollMs`): items
   * `[offset, offset + limit)` (every item by default) in one answer. For a big workload, read pages
   * (`offset`, `limit`) or `resultEntries`.
   */
  results<Output = unknown>(id: string, options: ResultsOptions = {}): Promise<ResultsAnswer<Output>> {
    return this.waitForResults(id, options.waitMs ?? 0, options.signal, options) as Promise<ResultsAnswer<Output>>;
  }

  /**
   * The results as a stream (`Accept: application/x-ndjson`), for a workload of any size: the workload's
   * status and counters when the stream began, then every item of `[offset, offset + limit)` in index
   * order as it arrives. With `waitMs`, first waits (up to that long) for the workload to finish. The
   * entries throw `WorkloadLostError` (or `ChunkmillApiError` `NOT_FOUND`, `REDIS_UNAVAILABLE`) when the
   * server ended the stream with an error, `ChunkmillConnectionError` when it broke off before the last item.
   */
  async resultsStream<Output = unknown>(id: string, options: ResultsOptions = {}): Promise<ResultsStream<Output>> {
    const offset = options.offset ?? 0;
    // The wait is a long-poll for a one-item page: the stream then starts on the finished workload.
    if ((options.waitMs ?? 0) > 0) await this.waitForResults(id, options.waitMs!, options.signal, { limit: 1 });
    const body = await this.http.stream(
      `/v1/workloads/${encodeURIComponent(id)}/results${rangeQuery({ offset, limit: options.limit })}`,
      options.signal,
      'application/x-ndjson',
    );
    const lines = readNdjson(body);
    const first = await lines.next().catch((error: unknown) => {
      throw options.signal?.aborted ? options.signal.reason : error;
    });
    if (first.done) throw new ChunkmillConnectionError(`the results stream of workload ${id} ended before its first line`);
    if (isErrorLine(first.value)) throw streamedError(first.value);
    const head = first.value as ResultsStreamHead;
    // Every item of the range has its line: fewer lines means the stream broke off.
    const expected = Math.max(0, Math.min(head.total, options.limit === undefined ? head.total : offset + options.limit) - offset);
    const brokenOff = (count: number, cause?: unknown): ChunkmillConnectionError =>
      new ChunkmillConnectionError(`the results stream of workload ${id} ended after ${count} of ${expected} items`, { cause });
    async function* entries(): AsyncGenerator<ResultEntry<Output>, void, undefined> {
      let count = 0;
      try {
        for await (const line of lines) {
          if (isErrorLine(line)) throw streamedError(line);
          count++;
          yield line as ResultEntry<Output>;
        }
      } catch (error) {
        if (options.signal?.aborted) throw options.signal.reason;
        if (error instanceof ChunkmillApiError) throw error;
        throw brokenOff(count, error);
      }
      if (count < expected) throw brokenOff(count);
    }
    return { id: head.id, status: head.status, total: head.total, completed: head.completed, failed: head.failed, offset, entries: entries() };
  }

  /** `resultsStream`'s entries alone: every item of the range, in index order. */
  async *resultEntries<Output = unknown>(id: string, options: ResultsOptions = {}): AsyncGenerator<ResultEntry<Output>, void, undefined> {
    yield* (await this.resultsStream<Output>(id, options)).entries;
  }

  /** `GET /v1/workloads`: recent workloads, newest first. */
  async list(options: CallOptions & { status?: WorkloadStatus; limit?: number } = {}): Promise<WorkloadView[]> {
    const query = new URLSearchParams();
    if (options.status) query.set('status', options.status);
    if (options.limit !== undefined) query.set('limit', String(options.limit));
    const text = query.toString();
    const suffix = text ? `?${text}` : '';
    return (await this.http.json<{ workloads: WorkloadView[] }>('GET', `/v1/workloads${suffix}`, options)).workloads;
  }

  /** `DELETE /v1/workloads/:id`. Throws `ChunkmillApiError` `ALREADY_FINISHED` (409) for a finished workload. */
  cancel(id: string, options: CallOptions = {}): Promise<WorkloadView> {
    return this.http.json<WorkloadView>('DELETE', `/v1/workloads/${encodeURIComponent(id)}`, options);
  }

  /** `GET /v1/workers`: the worker hosts alive now and what they run. */
  async workers(options: CallOptions = {}): Promise<WorkerInfo[]> {
    return (await this.http.json<{ workers: WorkerInfo[] }>('GET', '/v1/workers', options)).workers;
  }

  /** `GET /v1/tasks`: the registered compute tasks. */
  async tasks(options: CallOptions = {}): Promise<TaskInfo[]> {
    return (await this.http.json<{ tasks: TaskInfo[] }>('GET', '/v1/tasks', options)).tasks;
  }

  /**
   * The workload's events (`progress`, `result`, `done`) as they happen, ending after `done`. A stream
   * that breaks is reopened; results already seen are not repeated. A stream the server ends with an
   * `error` event throws it: `WorkloadLostError` when the workload's state vanished from Redis,
   * `ChunkmillApiError` `NOT_FOUND` when it expired.
   */
  async *events(id: string, options: CallOptions = {}): AsyncGenerator<WorkloadEvent, void, undefined> {
    const seen = new Set<number>();
    for (let attempt = 0; ; attempt++) {
      let body: ReadableStream<Uint8Array>;
      try {
        body = await this.http.stream(`/v1/workloads/${encodeURIComponent(id)}/events`, options.signal);
      } catch (error) {
        if (!(error instanceof ChunkmillConnectionError) || attempt >= MAX_STREAM_RECONNECTS) throw error;
        await delay(STREAM_RECONNECT_DELAY_MS * (attempt + 1), options.signal);
        continue;
      }
      try {
        for await (const message of readSse(body)) {
          const data = JSON.parse(message.data) as never;
          if (message.event === 'result') {
            const index = (data as StreamItem).index;
            if (seen.has(index)) continue;
            seen.add(index);
          }
          if (message.event === 'progress' || message.event === 'result' || message.event === 'done') {
            yield { type: message.event, data } as WorkloadEvent;
          }
          if (message.event === 'done') return;
          if (message.event === 'error') throw streamedError(data);
        }
      } catch (error) {
        if (options.signal?.aborted) throw options.signal.reason;
        // The server's word (the workload is lost or gone), not a broken stream: reopening cannot help.
        if (error instanceof ChunkmillApiError) throw error;
        if (attempt >= MAX_STREAM_RECONNECTS) throw error;
      }
      if (attempt >= MAX_STREAM_RECONNECTS) throw new ChunkmillConnectionError(`the event stream of workload ${id} kept ending before "done"`);
      await delay(STREAM_RECONNECT_DELAY_MS * (attempt + 1), options.signal);
    }
  }

  /** Finished items from the event stream, ending when the workload is done; throws if it was cancelled. */
  private async *streamItems(id: string, signal: AbortSignal | undefined): AsyncGenerator<StreamItem, void, undefined> {
    let done: ProgressData | undefined;
    for await (const event of this.events(id, { signal })) {
      if (event.type === 'result') yield event.data;
      if (event.type === 'done') done = event.data;
    }
    if (done?.status === 'cancelled') throw new WorkloadCancelledError(id);
  }

  /**
   * Long-polls the results (of `range`: every item by default) until the workload is final or `timeoutMs`
   * has passed; answers the last answer.
   */
  private async waitForResults(
    id: string,
    timeoutMs: number,
    signal: AbortSignal | undefined,
    range: { offset?: number; limit?: number } = {},
  ): Promise<ResultsAnswer> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const waitMs = Math.max(0, Math.min(this.options.pollMs, deadline - Date.now()));
      const answer = await this.http.json<ResultsAnswer>('GET', `/v1/workloads/${encodeURIComponent(id)}/results${rangeQuery(range, Math.floor(waitMs))}`, {
        signal,
      });
      if (FINAL.has(answer.status) || Date.now() >= deadline) return answer;
    }
  }

  /** Waits for the workload to finish, then reads every result, in pages of `resultsPageSize` items. */
  private async allResults(id: string, signal: AbortSignal | undefined): Promise<ResultsAnswer> {
    const limit = this.options.resultsPageSize;
    const first = await this.waitForResults(id, Infinity, signal, { limit });
    if (first.status === 'cancelled' || first.results.length >= first.total) return first;
    // A final workload's results no longer change: the pages fit together (joined once at the end).
    const pages = [first];
    for (let offset = first.results.length; offset < first.total; offset += limit) {
      pages.push(await this.http.json<ResultsAnswer>('GET', `/v1/workloads/${encodeURIComponent(id)}/results${rangeQuery({ offset, limit })}`, { signal }));
    }
    return { ...first, results: pages.flatMap((page) => page.results), errors: pages.flatMap((page) => page.errors) };
  }

  /** Runs `work` for workloads this call submitted; if the signal aborts, cancels them before rethrowing. */
  private async owning<T>(ids: string[], signal: AbortSignal | undefined, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (signal?.aborted) await Promise.all(ids.map((id) => this.cancelQuietly(id)));
      throw error;
    }
  }

  /** Best-effort cancel for cleanup: a workload that already finished (409) or vanished is fine. */
  private async cancelQuietly(id: string): Promise<void> {
    await this.cancel(id).catch(() => undefined);
  }

  private computeSubmission(task: string, inputs: readonly unknown[], options: ComputeOptions): ComputeSubmission {
    return { type: 'compute', task, inputs: [...inputs], ...pick(options, COMPUTE_OPTION_FIELDS) };
  }

  private fetchSubmission(urls: ReadonlyArray<string | FetchRequest>, options: FetchSubmissionOptions): FetchSubmission {
    const plain = urls.every((entry): entry is string => typeof entry === 'string');
    return {
      type: 'fetch',
      ...(plain ? { urls: [...urls] } : { requests: urls.map((entry) => (typeof entry === 'string' ? { url: entry } : entry)) }),
      ...pick(options, FETCH_OPTION_FIELDS),
    };
  }
}

/**
 * The submission options among a call's options: the contract's option fields (COMPUTE_OPTION_FIELDS,
 * FETCH_OPTION_FIELDS, generated) that are given. The call's own (signal, errors, ...) stay behind.
 */
function pick<Options extends object>(options: Options, fields: readonly string[]): Partial<Options> {
  const picked: Record<string, unknown> = {};
  for (const field of fields) {
    const value = (options as Record<string, unknown>)[field];
    if (value !== undefined) picked[field] = value;
  }
  return picked as Partial<Options>;
}

/** The results of a final workload as outputs, failed items thrown or in place. */
function outcomes(answer: ResultsAnswer, mode: ErrorMode): unknown[] {
  if (answer.status === 'cancelled') throw new WorkloadCancelledError(answer.id);
  const failures = [...answer.errors].sort((a, b) => a.index - b.index);
  if (mode === 'throw' && failures.length > 0) {
    const first = failures[0];
    throw new ItemFailedError(answer.id, first.index, first.code, first.message);
  }
  const values: unknown[] = [...answer.results];
  for (const failure of failures) values[failure.index] = new ItemFailedError(answer.id, failure.index, failure.code, failure.message);
  return values;
}

/** The query of a results request: `wait`, `offset` and `limit` where given. */
function rangeQuery(range: { offset?: number; limit?: number }, waitMs?: number): string {
  const query = new URLSearchParams();
  if (waitMs !== undefined) query.set('wait', String(waitMs));
  if (range.offset) query.set('offset', String(range.offset));
  if (range.limit !== undefined) query.set('limit', String(range.limit));
  const text = query.toString();
  return text ? `?${text}` : '';
}

/** Whether a results stream's line is the error envelope it ends with when it cannot go on. */
function isErrorLine(line: unknown): line is { error: { code?: unknown; message?: unknown; details?: unknown } } {
  return typeof line === 'object' && line !== null && 'error' in line && !('index' in line);
}

/** An event stream's `error` event (the server's error envelope) as the error a request would have thrown. */
function streamedError(envelope: { error?: { code?: unknown; message?: unknown; details?: unknown } }): ChunkmillApiError {
  const code = typeof envelope.error?.code === 'string' ? envelope.error.code : 'STREAM_ERROR';
  const details = Array.isArray(envelope.error?.details) ? envelope.error.details : [];
  return apiErrorOf(code, String(envelope.error?.message ?? code), STREAMED_ERROR_STATUS[code] ?? 500, details);
}

/** One streamed item as an output; `offset` maps a window's index back to the caller's inputs. */
function outcomeOf(id: string, item: StreamItem, offset: number, mode: ErrorMode): unknown {
  if (!item.error) return item.value;
  const failure = new ItemFailedError(id, offset + item.index, item.error.code, item.error.message);
  if (mode === 'throw') throw failure;
  return failure;
}

function delay(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    signal?.throwIfAborted();
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

const LITTLE_ENDIAN_HOST = new Uint8Array(new Float64Array([1]).buffer)[7] === 0x3f;

/** The bytes of `values` as little-endian Float64: a view, without a copy, on a little-endian host. */
function toLittleEndian(values: Float64Array | ArrayLike<number>): Uint8Array {
  const floats = values instanceof Float64Array ? values : Float64Array.from(values);
  if (LITTLE_ENDIAN_HOST) return new Uint8Array(floats.buffer, floats.byteOffset, floats.byteLength);
  const bytes = new DataView(new ArrayBuffer(floats.byteLength));
  for (const [index, value] of floats.entries()) bytes.setFloat64(index * 8, value, true);
  return new Uint8Array(bytes.buffer);
}

function fromLittleEndian(buffer: ArrayBuffer): Float64Array {
  if (LITTLE_ENDIAN_HOST) return new Float64Array(buffer);
  const bytes = new DataView(buffer);
  return Float64Array.from({ length: buffer.byteLength / 8 }, (_, index) => bytes.getFloat64(index * 8, true));
}
