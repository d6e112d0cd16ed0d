/**
 * Why a workload id has no record, and what to answer for it:
 * - `410 WORKLOAD_LOST`: the workload is known to have been accepted, and it is gone before it could
 *   have expired (Redis restarted without its data, was flushed, lost the node that held it);
 * - `404 NOT_FOUND`: an id never seen, or a workload old enough to have expired (its record lives
 *   RESULT_TTL_SECONDS after its last activity, so at least that long after its creation).
 *
 * Known to have been accepted means any of: the caller saw its record (an open stream or long-poll),
 * the workload index still holds the id (its score is the creation time), or this producer accepted or
 * served it lately (a bounded memory: it also covers a Redis that came back completely empty, index
 * and all, as long as this producer process lives; another producer, or this one restarted, answers 404
 * for those).
 */
import { NotFoundError, WorkloadLostError, type ChunkmillError } from '../core/errors';
import type { WorkloadStore } from '../core/workload-store';

/** How many workload ids a producer remembers (about 100 B each). */
const REMEMBERED_WORKLOADS = 20_000;

export class MissingWorkloads {
  /** Workload id → creation time (ms), least recently seen first (a Map keeps insertion order). */
  private readonly seen = new Map<string, number>();

  constructor(private readonly store: WorkloadStore) {}

  /** Notes a workload this producer accepted or read, so that its loss can be told later. */
  remember(id: string, createdAt: number): void {
    this.seen.delete(id);
    this.seen.set(id, createdAt);
    if (this.seen.size > REMEMBERED_WORKLOADS) this.seen.delete(this.seen.keys().next().value as string);
  }

  /**
   * The error for a workload whose record is gone. `createdAt`: when the caller saw the record, its
   * creation time. May throw a Redis error (the index is read), which the error handler answers 503.
   */
  async explain(id: string, createdAt?: number): Promise<ChunkmillError> {
    const created = createdAt ?? this.seen.get(id) ?? (await this.store.indexedAt(id));
    if (created === undefined) return new NotFoundError(`No workload with id ${id}.`);
    if (this.store.mayHaveExpired(created)) {
      this.seen.delete(id);
      return new NotFoundError(`No workload with id ${id}: it has expired (workloads are kept RESULT_TTL_SECONDS after their last activity).`);
    }
    return new WorkloadLostError(id);
  }
}
