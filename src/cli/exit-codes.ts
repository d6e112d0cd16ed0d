/**
 * The CLI's exit codes, for scripts. Every command exits with one of these; an error is one line on
 * stderr (`chunkmill: CODE: message`).
 */
import { ChunkmillApiError, ChunkmillConnectionError } from '@chunkmill/client';

export const EXIT = {
  /** Done: the command did what it was asked; for `watch`/`results`/`submit --wait`, the workload completed. */
  OK: 0,
  /** The workload failed (an item failed for good) or was cancelled. */
  WORKLOAD_FAILED: 1,
  /** Bad usage or a request the server refused as invalid (400, 413, 415). */
  USAGE: 2,
  /** No such workload (404), or the server lost it (410 WORKLOAD_LOST: its Redis restarted without its data). */
  NOT_FOUND: 3,
  /** Missing or wrong token (401). */
  AUTH: 4,
  /** The server cannot be reached, or answered 5xx / 429 (Redis down, overloaded). */
  UNAVAILABLE: 5,
  /** `results --wait` / `watch --timeout` gave up before the workload finished. */
  NOT_FINISHED: 6,
  /** A conflict (409): cancelling a finished workload, an Idempotency-Key reused with another body. */
  CONFLICT: 7,
  /** Stopped by Ctrl-C (SIGINT). */
  INTERRUPTED: 130,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** A usage error found by the CLI itself. */
export class UsageError extends Error {
  readonly code = 'USAGE';
}

export function exitCodeFor(error: unknown): ExitCode {
  if (error instanceof UsageError) return EXIT.USAGE;
  if (error instanceof ChunkmillConnectionError) return EXIT.UNAVAILABLE;
  if (error instanceof ChunkmillApiError) {
    if (error.status === 401 || error.status === 403) return EXIT.AUTH;
    if (error.status === 404 || error.status === 410) return EXIT.NOT_FOUND;
    if (error.status === 409) return EXIT.CONFLICT;
    if (error.status === 429 || error.status >= 500) return EXIT.UNAVAILABLE;
    return EXIT.USAGE;
  }
  return EXIT.UNAVAILABLE;
}
