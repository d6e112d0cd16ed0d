/**
 * Hears of cancelled workloads. The producer publishes a cancelled workload's id on the cancel channel;
 * every worker process listens and stops its running chunks of that workload (their sessions know
 * them, workload-session.ts). Recent cancels are remembered, so that a chunk of a cancelled workload
 * that starts late stops at once.
 */
import type { RedisSubscriber } from '../core/redis-subscriber';

export class WorkloadCancelledError extends Error {
  constructor(readonly workloadId: string) {
    super(`Workload ${workloadId} was cancelled`);
    this.name = 'WorkloadCancelledError';
  }
}

/** How many recent cancels are remembered. */
const REMEMBERED_CANCELS = 1000;

export class CancellationRegistry {
  /** Workloads cancelled lately, oldest first (a Set keeps insertion order). */
  private readonly cancelled = new Set<string>();
  private stopListening?: () => void;

  constructor(
    private readonly subscriber: RedisSubscriber,
    private readonly channel: string,
  ) {}

  /** Listens on the cancel channel; `stopChunks` is called with each cancel, to stop the workload's running chunks. */
  async start(stopChunks: (reason: WorkloadCancelledError) => void): Promise<void> {
    this.stopListening = await this.subscriber.listen(this.channel, (workloadId) => {
      this.cancelled.add(workloadId);
      if (this.cancelled.size > REMEMBERED_CANCELS) this.cancelled.delete(this.cancelled.values().next().value as string);
      stopChunks(new WorkloadCancelledError(workloadId));
    });
  }

  /** The reason to stop a chunk starting now: set when its workload was cancelled lately. */
  cancelledLately(workloadId: string): WorkloadCancelledError | undefined {
    return this.cancelled.has(workloadId) ? new WorkloadCancelledError(workloadId) : undefined;
  }

  close(): void {
    this.stopListening?.();
  }
}
