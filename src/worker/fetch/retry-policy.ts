/**
 * Which failures of a fetch item are tried again. Retried: network errors, timeouts, 5xx and 429 (after
 * Retry-After when the server sends one, else exponential backoff with full jitter). Not retried: refused
 * addresses, bodies over the cap, redirect loops — the same request would fail the same way. The last
 * 5xx/429 answer is the item's result.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ItemError, ItemErrorCode } from '../../core/errors';
import type { Answer } from './exchange';
import { backoffDelayMs, retryAfterMs } from './retry-delay';

const RETRIED_CODES: ReadonlySet<string> = new Set([ItemErrorCode.FETCH_NETWORK, ItemErrorCode.FETCH_TIMEOUT]);

/** Fetch item errors that another chunk attempt could not change. */
export function isPermanentFetchError(error: ItemError): boolean {
  return !RETRIED_CODES.has(error.code);
}

/**
 * Up to `1 + retries` runs of `attempt`: the first answer not worth retrying, else the last one; or the
 * error of the last run, or the first one not worth retrying.
 */
export async function withRetries(retries: number, signal: AbortSignal, attempt: () => Promise<Answer>): Promise<Answer> {
  for (let retry = 0; ; retry++) {
    let waitMs: number;
    try {
      const answer = await attempt();
      const retryable = answer.status >= 500 || answer.status === 429;
      if (!retryable || retry >= retries) return answer;
      waitMs = retryAfterMs(answer.headers['retry-after']) ?? backoffDelayMs(retry);
    } catch (error) {
      if (signal.aborted || !(error instanceof ItemError)) throw error;
      if (isPermanentFetchError(error) || retry >= retries) throw error;
      waitMs = backoffDelayMs(retry);
    }
    await sleep(waitMs, undefined, { signal });
  }
}
