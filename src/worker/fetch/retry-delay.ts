/** How long a fetch waits before retrying a request. */

/** Exponential backoff bounds: the first retry waits up to 200 ms, later ones double, never past 10 s. */
export const RETRY_BASE_MS = 200;
export const RETRY_MAX_MS = 10_000;
/** A server's Retry-After is honoured up to this; a longer wait would hold the chunk too long. */
export const MAX_RETRY_AFTER_MS = 30_000;

/**
 * Exponential backoff with full jitter (a random wait in [0, base·2^retry]): retries of many requests
 * that failed together spread out instead of coming back in one burst.
 */
export function backoffDelayMs(retry: number, random: () => number = Math.random): number {
  return Math.floor(random() * Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** retry));
}

/** A Retry-After header (delay in seconds, or an HTTP date) in ms, capped; undefined when absent or unreadable. */
export function retryAfterMs(header: string | string[] | undefined, now = Date.now()): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined || value.trim() === '') return undefined;
  const trimmed = value.trim();
  let delayMs: number;
  if (/^\d+$/.test(trimmed)) {
    delayMs = Number(trimmed) * 1000;
  } else {
    const date = Date.parse(trimmed);
    if (Number.isNaN(date)) return undefined;
    delayMs = date - now;
  }
  return Math.min(MAX_RETRY_AFTER_MS, Math.max(0, delayMs));
}
