/**
 * Stops running items of a cancelled workload. The producer publishes a cancelled workload's id on the
 * cancel channel; every worker process listens and stops its running chunks of that workload.
 */
import type { RedisSubscriber } from '../core/redis-subscriber';

export class WorkloadCancelledError extends Error {
  constructor(readonly workloadId: string) {
    super(`Workload ${workloadId} was cancelled`);
    this.name = 'WorkloadCancelledError';
  }
}

/** What a running chunk gives the registry: called with the cancel reason when its workload is cancelled. */
export type OnCancel = (reason: WorkloadCancelledError) => void;

/** Recent cancels remembered, so that a chunk of a cancelled workload that starts late stops at once. */
const REMEMBERED_CANCELS = 1000;

export class CancellationRegistry {
  /**
   * The running chunks of each workload, as callbacks: a chunk owns one AbortController for everything
   * that stops it, rather than one more here (they are costly to make by the thousand per second).
   */
  private readonly chunks = new Map<string, Set<OnCancel>>();
  /** Workloads cancelled lately, oldest first (a Set keeps insertion order). */
  private readonly cancelled = new Set<string>();
  private stopListening?: () => void;

  constructor(
    private readonly subscriber: RedisSubscriber,
    private readonly channel: string,
  ) {}

  async start(): Promise<void> {
    this.stopListening = await this.subscriber.listen(this.channel, (workloadId) => this.cancel(workloadId));
  }

  /**
   * Calls `onCancel` when `workloadId` is cancelled (at once if it was lately); answers the function
   * that unregisters, to call when the chunk is done.
   */
  register(workloadId: string, onCancel: OnCancel): () => void {
    if (this.cancelled.has(workloadId)) {
      onCancel(new WorkloadCancelledError(workloadId));
      return () => undefined;
    }
    let set = this.chunks.get(workloadId);
    if (!set) {
      set = new Set();
      this.chunks.set(workloadId, set);
    }
    set.add(onCancel);
    const registered = set;
    return () => {
      registered.delete(onCancel);
      if (registered.size === 0 && this.chunks.get(workloadId) === registered) this.chunks.delete(workloadId);
    };
  }

  cancel(workloadId: string): void {
    this.cancelled.add(workloadId);
    if (this.cancelled.size > REMEMBERED_CANCELS) this.cancelled.delete(this.cancelled.values().next().value as string);
    for (const onCancel of this.chunks.get(workloadId) ?? []) onCancel(new WorkloadCancelledError(workloadId));
  }

  close(): void {
    this.stopListening?.();
    this.chunks.clear();
  }
}
