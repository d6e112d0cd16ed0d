/**
 * Which errors mean "Redis cannot serve right now" rather than "this request or this item is wrong".
 *
 * The producer answers them 503 REDIS_UNAVAILABLE; a worker hands its chunk back to the queue without
 * using up an attempt (worker/infrastructure-guard.ts): an item never fails, and no chunk is given up,
 * only because Redis was away, full, frozen or failing over for a while.
 */

/** Thrown when fewer replicas than REDIS_WAIT_REPLICAS acknowledged a write in time (see replica-wait.ts). */
export class ReplicaWaitError extends Error {
  constructor(
    readonly wanted: number,
    readonly acknowledged: number,
  ) {
    super(`Only ${acknowledged} of ${wanted} Redis replicas acknowledged the write in time`);
    this.name = 'ReplicaWaitError';
  }
}

/**
 * Messages that mean the connection itself is lost or not answering (refused, reset, closed,
 * unresolvable, timed out, the offline queue off), as opposed to a Redis that answers but refuses.
 */
const CONNECTION_LOST_MESSAGES = [
  'Connection is closed',
  'enableOfflineQueue',
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'Reached the max retries',
  'Command timed out',
  'Socket timeout',
  "Stream isn't writeable",
  'None of startup nodes is available',
  "Cluster isn't ready",
];

/**
 * The refusals of a Redis that is up but cannot take the command now: full (OOM), loading or failing to
 * persist (LOADING, MISCONF), a replica or a master without its replicas (READONLY, NOREPLICAS,
 * MASTERDOWN), a cluster without a full slot map (CLUSTERDOWN, TRYAGAIN, redirections, slot refresh).
 */
const REFUSAL_MESSAGES = [
  'OOM command not allowed',
  'LOADING',
  'MISCONF',
  'READONLY',
  'NOREPLICAS',
  'MASTERDOWN',
  'CLUSTERDOWN',
  'TRYAGAIN',
  'Too many Cluster redirections',
  'Failed to refresh slots cache',
];

const REDIS_DOWN = new RegExp([...CONNECTION_LOST_MESSAGES, ...REFUSAL_MESSAGES].join('|'));
const CONNECTION_LOST = new RegExp(CONNECTION_LOST_MESSAGES.join('|'));

export function isRedisUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error instanceof ReplicaWaitError || error.name === 'MaxRetriesPerRequestError' || REDIS_DOWN.test(error.message)) return true;
  // A MULTI that Redis refused (EXECABORT) carries the real reasons, e.g. OOM when Redis is full.
  const previous = (error as { previousErrors?: unknown }).previousErrors;
  return Array.isArray(previous) && previous.some(isRedisUnavailable);
}

/** A lost connection (see CONNECTION_LOST_MESSAGES); an error given as its message (a log line's `err` string) counts too. */
export function isRedisConnectionFailure(error: unknown): boolean {
  if (typeof error === 'string') return CONNECTION_LOST.test(error);
  if (!(error instanceof Error)) return false;
  return error.name === 'MaxRetriesPerRequestError' || CONNECTION_LOST.test(error.message);
}
