/** The bounds of the API: what a request may ask for, and the defaults the server fills in. */
export const LIMITS = {
  maxChunkSize: 100_000,
  maxAttempts: 20,
  maxTimeoutMs: 24 * 60 * 60 * 1000,
  minPriority: 1,
  maxPriority: 100,
  /** The priority of a workload that names none; smaller runs first. */
  normalPriority: 50,
  /** How many problems one 400 answer lists at most. */
  maxReportedIssues: 20,
  /** Fetch: requests in flight for the whole workload, across every worker (enforced through Redis). */
  defaultFetchConcurrency: 16,
  maxFetchConcurrency: 1000,
  /** Fetch: requests in flight to one origin from one worker process. */
  defaultPerHostConcurrency: 8,
  maxPerHostConcurrency: 256,
  /** Fetch: per request attempt, headers and body included. */
  defaultFetchTimeoutMs: 10_000,
  maxFetchTimeoutMs: 5 * 60 * 1000,
  /** Fetch: retries of one request after a network error, a timeout, a 5xx or a 429. */
  defaultFetchRetries: 2,
  maxFetchRetries: 10,
  /** Fetch: the response size cap; a longer body is an item error (FETCH_TOO_LARGE). */
  defaultMaxResponseBytes: 1024 * 1024,
  maxMaxResponseBytes: 16 * 1024 * 1024,
  maxUrlLength: 8192,
  maxExtractLength: 512,
  /** Arrays: elements per item at most (64 MiB per array slice in a worker's memory). */
  maxElementsPerItem: 8 * 1024 * 1024,
  /** How long a results request may long-poll, in ms. */
  maxWaitMs: 300_000,
  /** Items a results page may ask for: one JSON body of that many items is assembled in memory. */
  maxResultsLimit: 100_000,
  /** Workloads `GET /v1/workloads` lists at most. */
  maxListLimit: 1000,
  /** The longest TTL an array may ask for: 30 days. */
  maxArrayTtlSeconds: 30 * 24 * 60 * 60,
} as const;
