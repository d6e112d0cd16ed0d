/** The chunkmill SDK: a `multiprocessing.Pool`-shaped client for a chunkmill cluster. */
export { Pool } from './pool';
export type { PoolOptions, CallOptions, SubmitOptions, MapOptions, ImapOptions, FetchOptions, ResultsOptions, ResultsStream, ErrorMode, Outcome } from './pool';
export { AsyncResult } from './async-result';
export {
  ChunkmillClientError,
  ChunkmillApiError,
  ChunkmillConnectionError,
  ItemFailedError,
  WorkloadCancelledError,
  ResultTimeoutError,
  WorkloadLostError,
} from './errors';
export type * from './api-types';
export type { AsJson, TaskMap, TaskSignature, TaskName, TaskInput, TaskOutput } from './task-types';
