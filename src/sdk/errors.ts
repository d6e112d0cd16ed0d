/**
 * What the SDK throws. Every error has a stable upper-case `code`: the server's error code for API
 * errors (`VALIDATION_FAILED`, `NOT_FOUND`, `UNAUTHORIZED`, ...), the item's code for a failed item
 * (`TASK_ERROR`, `ITEM_TIMEOUT`, `FETCH_TIMEOUT`, ...), and the SDK's own codes below otherwise.
 * An aborted call rejects with its signal's `reason` (an `AbortError` unless you gave another), as
 * `fetch` does.
 */

/** The base of every error the SDK throws (abort reasons aside). */
export class ChunkmillClientError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ChunkmillClientError';
  }
}

/** The server answered with an error: `{"error": {"code", "message", "details"}}`. */
export class ChunkmillApiError extends ChunkmillClientError {
  constructor(
    code: string,
    message: string,
    /** The HTTP status of the answer. */
    readonly status: number,
    /** What the server listed as wrong (for `VALIDATION_FAILED`: `{path, message}` entries). */
    readonly details: unknown[] = [],
  ) {
    super(code, message);
    this.name = 'ChunkmillApiError';
  }
}

/**
 * The workload was accepted, but the server's Redis no longer has its state (restarted without its data,
 * flushed, lost the node that held it): its results will never come. Code `WORKLOAD_LOST`, status 410.
 * Every call that waits for a workload (`map`, `imap`, `imapUnordered`, `fetch`, `AsyncResult.get`,
 * `results`, `events`) throws it instead of waiting forever, as do `status` and `cancel`. Submit again.
 */
export class WorkloadLostError extends ChunkmillApiError {
  /** The lost workload's id (from the server's `details`), when the server named it. */
  readonly workloadId: string | undefined;

  constructor(message: string, status = 410, details: unknown[] = []) {
    super('WORKLOAD_LOST', message, status, details);
    this.name = 'WorkloadLostError';
    const named = details.find((detail): detail is { id: string } => typeof (detail as { id?: unknown })?.id === 'string');
    this.workloadId = named?.id;
  }
}

/** The SDK's error for a server error envelope: the typed class when the code has one. */
export function apiErrorOf(code: string, message: string, status: number, details: unknown[]): ChunkmillApiError {
  if (code === 'WORKLOAD_LOST') return new WorkloadLostError(message, status, details);
  return new ChunkmillApiError(code, message, status, details);
}

/** The server could not be reached (connection refused, DNS, reset). Code `CONNECTION_FAILED`. */
export class ChunkmillConnectionError extends ChunkmillClientError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('CONNECTION_FAILED', message);
    this.name = 'ChunkmillConnectionError';
    if (options?.cause !== undefined) (this as { cause?: unknown }).cause = options.cause;
  }
}

/**
 * One item of a workload failed for good (after its attempts). Thrown by `map`, `fetch` and
 * `AsyncResult.get`; yielded in place of the item's value by the iterators with `errors: 'yield'`.
 */
export class ItemFailedError extends ChunkmillClientError {
  constructor(
    readonly workloadId: string,
    /** The item's index in the inputs it was submitted with. */
    readonly index: number,
    /** The item's error code, e.g. `TASK_ERROR`. */
    code: string,
    message: string,
  ) {
    super(code, `item ${index} failed (${code}): ${message}`);
    this.name = 'ItemFailedError';
  }
}

/** The workload was cancelled (by someone else, or by `DELETE`) while the call waited for it. Code `WORKLOAD_CANCELLED`. */
export class WorkloadCancelledError extends ChunkmillClientError {
  constructor(readonly workloadId: string) {
    super('WORKLOAD_CANCELLED', `workload ${workloadId} was cancelled`);
    this.name = 'WorkloadCancelledError';
  }
}

/** `AsyncResult.get(timeoutMs)` ran out of time; the workload goes on. Code `RESULT_TIMEOUT`. */
export class ResultTimeoutError extends ChunkmillClientError {
  constructor(
    readonly workloadId: string,
    timeoutMs: number,
  ) {
    super('RESULT_TIMEOUT', `workload ${workloadId} did not finish within ${timeoutMs} ms`);
    this.name = 'ResultTimeoutError';
  }
}
