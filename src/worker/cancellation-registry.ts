/**
 * Stops running items of a cancelled workload. The producer publishes a cancelled workload's id on the
 * cancel channel; every worker process listens and aborts the signals its chunks of that workload hold.
 */
import type { RedisSubscriber } from '../core/redis-subscriber';

export class WorkloadCancelledError extends Error {
  constructor(readonly workloadId: string) {
    super(`Workload ${workloadId} was cancelled`);
    this.name = 'WorkloadCancelledError';
  }
}

export interface CancellationHandle {
  signal: AbortSignal;
  release(): void;
}

export class CancellationRegistry {
  private readonly controllers = new Map<string, Set<AbortController>>();
  private stopListening?: () => void;

  constructor(
    private readonly subscriber: RedisSubscriber,
    private readonly channel: string,
  ) {}

  async start(): Promise<void> {
    this.stopListening = await this.subscriber.listen(this.channel, (workloadId) => this.cancel(workloadId));
  }

  /** A signal that aborts when `workloadId` is cancelled; release it when the chunk is done. */
  register(workloadId: string): CancellationHandle {
    const controller = new AbortController();
    let set = this.controllers.get(workloadId);
    if (!set) {
      set = new Set();
      this.controllers.set(workloadId, set);
    }
    set.add(controller);
    return {
      signal: controller.signal,
      release: () => {
        set.delete(controller);
        if (set.size === 0 && this.controllers.get(workloadId) === set) this.controllers.delete(workloadId);
      },
    };
  }

  cancel(workloadId: string): void {
    for (const controller of this.controllers.get(workloadId) ?? []) {
      controller.abort(new WorkloadCancelledError(workloadId));
    }
  }

  close(): void {
    this.stopListening?.();
    this.controllers.clear();
  }
}
