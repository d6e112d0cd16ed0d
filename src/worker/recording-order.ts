/**
 * One round trip per chunk: whether a chunk's last write of outcomes must be answered before BullMQ
 * completes its job, or may go out just ahead of the completion.
 *
 * On a single Redis both go over the same connection, the recording first (the processor sends it
 * before it returns; BullMQ's moveToFinished follows). Redis runs commands of one connection in order,
 * so whatever happens to the worker after sending them (killed, cut off), Redis has either nothing, the
 * recording alone (the job stalls, runs again, records nothing new: exactly-once recording), or both:
 * never a completed chunk without its outcomes. Waiting for the recording's answer first would only
 * cost a round trip.
 *
 * What is left: a recording Redis refuses while it accepts the completion behind it. Redis being full,
 * read-only or away refuses both alike; anything else (a script error) leaves a completed chunk with
 * missing outcomes, which the reconciler finds and enqueues again (worker/workload-reconciler.ts). Such a
 * failure is logged, and for a while this process waits for every recording's answer, so that the
 * infrastructure guard sees the failures inside the chunk again.
 *
 * Not on a Redis Cluster (the workload's keys and the queue's are in different slots, so on different
 * connections) nor with REDIS_WAIT_REPLICAS (the WAIT must come between): there the chunk waits.
 */
import type { Logger } from 'pino';
import type { WorkloadStore } from '../core/workload-store';

/** How long a process waits for every recording after one that went ahead of its completion failed. */
const CAREFUL_MS = 60_000;

export class RecordingOrder {
  private carefulUntil = 0;

  constructor(
    private readonly store: Pick<WorkloadStore, 'recordsInOrderWithCompletion'>,
    private readonly logger: Logger,
  ) {}

  /**
   * Sends a chunk's last recording (`record` sends it and answers its answer). Answers undefined when it
   * went ahead of the completion (a failure is logged here), or the recording, which the chunk must then
   * await before it completes.
   */
  send(record: () => Promise<unknown>, context: { workloadId: string; chunkIndex: number }): Promise<unknown> | undefined {
    if (!this.store.recordsInOrderWithCompletion || Date.now() < this.carefulUntil) return record();
    const recorded = record();
    recorded.catch((error: unknown) => {
      this.carefulUntil = Date.now() + CAREFUL_MS;
      this.logger.warn(
        { ...context, err: error instanceof Error ? error.message : String(error) },
        "a chunk's recording failed after its completion was sent; the reconciler will run the chunk again",
      );
    });
    return undefined;
  }
}
