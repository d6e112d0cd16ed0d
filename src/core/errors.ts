/**
 * The errors chunkmill answers with. Each has a stable upper-case `code`; the producer's error handler
 * maps `httpStatus` to the response, so a route never picks a status code by hand.
 */

export type ErrorDetail = string | Record<string, unknown>;

export class ChunkmillError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly httpStatus: number,
    readonly details: ErrorDetail[] = [],
  ) {
    super(message);
    this.name = 'ChunkmillError';
  }
}

/** The one shape of every error answer, from Express's error handler and from the HTTP parser alike. */
export function errorEnvelope(error: ChunkmillError): { error: { code: string; message: string; details: ErrorDetail[] } } {
  return { error: { code: error.code, message: error.message, details: error.details } };
}

export class ValidationError extends ChunkmillError {
  constructor(message: string, details: ErrorDetail[] = []) {
    super('VALIDATION_FAILED', message, 400, details);
    this.name = 'ValidationError';
  }
}

export class NotFoundError extends ChunkmillError {
  constructor(message: string) {
    super('NOT_FOUND', message, 404);
    this.name = 'NotFoundError';
  }
}

/**
 * The workload was accepted (202), but its state is gone from Redis before it could have expired: Redis
 * restarted without its data, was flushed, or lost the node that held it. Nothing of it can be answered
 * any more, and waiting for it would be forever. `details` names the workload: `[{ id }]`.
 */
export class WorkloadLostError extends ChunkmillError {
  constructor(readonly workloadId: string) {
    super(
      'WORKLOAD_LOST',
      `Workload ${workloadId} was accepted, but its state is gone from Redis ` +
        '(Redis restarted without its data, was flushed, or lost the node that held it); its results cannot be recovered. Submit it again.',
      410,
      [{ id: workloadId }],
    );
    this.name = 'WorkloadLostError';
  }
}

export class ConflictError extends ChunkmillError {
  constructor(code: string, message: string) {
    super(code, message, 409);
    this.name = 'ConflictError';
  }
}

export class UnauthorizedError extends ChunkmillError {
  /**
   * @param bearerError RFC 6750's `error` for the WWW-Authenticate answer: `invalid_token` when a token
   *   was given and is wrong; none when no token was given.
   */
  constructor(
    message = 'A valid bearer token is required.',
    readonly bearerError?: 'invalid_token',
  ) {
    super('UNAUTHORIZED', message, 401);
    this.name = 'UnauthorizedError';
  }
}

export class ForbiddenError extends ChunkmillError {
  constructor(message: string) {
    super('FORBIDDEN', message, 403);
    this.name = 'ForbiddenError';
  }
}

export class PayloadTooLargeError extends ChunkmillError {
  constructor(message: string, details: ErrorDetail[] = []) {
    super('PAYLOAD_TOO_LARGE', message, 413, details);
    this.name = 'PayloadTooLargeError';
  }
}

/**
 * When a client should try again after a 503 REDIS_UNAVAILABLE (`Retry-After`): a Redis restart or a
 * cluster failover is over within seconds, and clients that all retry at once would slow it down.
 */
export const REDIS_RETRY_AFTER_SECONDS = 2;

export class RedisUnavailableError extends ChunkmillError {
  readonly retryAfterSeconds = REDIS_RETRY_AFTER_SECONDS;

  constructor(message = 'Redis is not reachable; nothing was enqueued. Try again shortly.', details: ErrorDetail[] = []) {
    super('REDIS_UNAVAILABLE', message, 503, details);
    this.name = 'RedisUnavailableError';
  }
}

export class RateLimitedError extends ChunkmillError {
  constructor(readonly retryAfterSeconds: number) {
    super('RATE_LIMITED', `Too many requests for this tenant; retry in ${retryAfterSeconds} s.`, 429);
    this.name = 'RateLimitedError';
  }
}

export class ConfigError extends Error {
  constructor(
    message: string,
    readonly problems: string[],
  ) {
    super(message);
    this.name = 'ConfigError';
  }
}

/**
 * Item-level error codes: what `errors[i].code` may say about one item of a workload.
 */
export const ItemErrorCode = {
  /** The task threw; the message is the task's. */
  TASK_ERROR: 'TASK_ERROR',
  /** The item ran longer than the workload's `timeoutMs`; its thread was stopped. */
  ITEM_TIMEOUT: 'ITEM_TIMEOUT',
  /** The compute thread died (out of memory, crash) while running the item. */
  THREAD_CRASHED: 'THREAD_CRASHED',
  /** The chunk's job was lost (its worker died too often) before the item finished. */
  CHUNK_LOST: 'CHUNK_LOST',
  /** The fetch was refused before any packet left: scheme or address not allowed. */
  FETCH_REFUSED: 'FETCH_REFUSED',
  /** The fetch took longer than `timeoutMs`. */
  FETCH_TIMEOUT: 'FETCH_TIMEOUT',
  /** A network error: connection refused or reset, DNS failure. */
  FETCH_NETWORK: 'FETCH_NETWORK',
  /** The response body was larger than the size cap. */
  FETCH_TOO_LARGE: 'FETCH_TOO_LARGE',
  /** Too many redirects, or a redirect loop. */
  FETCH_REDIRECTS: 'FETCH_REDIRECTS',
  /** An array the item reads or writes expired, was deleted or changed length while the workload ran. */
  ARRAY_MISSING: 'ARRAY_MISSING',
} as const;
export type ItemErrorCode = (typeof ItemErrorCode)[keyof typeof ItemErrorCode];

/** An error that belongs to one item: recorded in the workload's `errors`, never thrown to BullMQ. */
export class ItemError extends Error {
  constructor(
    readonly code: ItemErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ItemError';
  }
}
