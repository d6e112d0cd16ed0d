/**
 * The handle `Pool.applyAsync` answers, like `multiprocessing.pool.AsyncResult`: the workload runs on
 * the cluster while you hold it; `get()` waits for its one result.
 */
import type { WorkloadView } from './api-types';
import { ResultTimeoutError } from './errors';

/** What an AsyncResult needs from its Pool (kept narrow so the two do not grow into each other). */
export interface AsyncResultBackend {
  waitForOne(id: string, timeoutMs: number, signal: AbortSignal | undefined): Promise<{ final: true; value: unknown } | { final: false }>;
  isFinal(id: string, signal: AbortSignal | undefined): Promise<boolean>;
  cancel(id: string, options?: { signal?: AbortSignal }): Promise<WorkloadView>;
}

export class AsyncResult<Output> {
  constructor(
    /** The workload's id (a workload of one item). */
    readonly id: string,
    private readonly backend: AsyncResultBackend,
    private readonly onSettled: () => void = () => undefined,
  ) {}

  /**
   * Waits for the result. Throws `ItemFailedError` when the item failed, `WorkloadCancelledError`
   * when the workload was cancelled, `WorkloadLostError` when the server lost it (its Redis restarted
   * without its data), and `ResultTimeoutError` after `timeoutMs` (the workload goes on; call `get`
   * again or `cancel`).
   * @param timeoutMs - how long to wait. @defaultValue no limit
   */
  async get(timeoutMs = Infinity, options: { signal?: AbortSignal } = {}): Promise<Output> {
    const outcome = await this.backend.waitForOne(this.id, timeoutMs, options.signal);
    if (!outcome.final) throw new ResultTimeoutError(this.id, timeoutMs);
    this.onSettled();
    return outcome.value as Output;
  }

  /** Whether the workload has finished (completed, failed or cancelled), like Python's `ready()`. */
  ready(options: { signal?: AbortSignal } = {}): Promise<boolean> {
    return this.backend.isFinal(this.id, options.signal);
  }

  /** Cancels the workload; answers its view (status `cancelled`). Throws `ALREADY_FINISHED` (409) when it had finished. */
  cancel(options: { signal?: AbortSignal } = {}): Promise<WorkloadView> {
    this.onSettled();
    return this.backend.cancel(this.id, options);
  }
}
