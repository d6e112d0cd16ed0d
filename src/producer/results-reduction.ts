/**
 * The `reduced` of a completed workload, for a results page that does not hold every item: computed
 * from the whole workload, its stored texts read a page of chunks at a time (WorkloadStore.forEachOutcome),
 * never as one body. A completed workload's results no longer change, so the answer is kept (for the most
 * recent workloads) and a client paging through a big workload pays for the reduction once, not once per page.
 */
import { reduceValues } from '../core/reduce';
import type { WorkloadRecord } from '../core/workload';
import type { WorkloadStore } from '../core/workload-store';

/** Reductions kept; the oldest is forgotten first. */
const KEPT = 1000;

export type Reduced = number | string | null;

export class WorkloadReductions {
  /** By workload id, oldest first (a Map keeps insertion order). */
  private readonly kept = new Map<string, Reduced>();

  constructor(private readonly store: WorkloadStore) {}

  /**
   * The reduction over every result of a completed workload with `reduce`. Undefined when the workload's
   * record vanished while it was read (its results are then incomplete, and the caller explains why).
   */
  async of(record: WorkloadRecord): Promise<Reduced | undefined> {
    if (!record.reduce) return null;
    const known = this.kept.get(record.id);
    if (known !== undefined) return known;
    // Parsed values are what reduceValues takes; forEachOutcome reads the stored texts a page of chunks at a time.
    const values: unknown[] = [];
    await this.store.forEachOutcome(record, (_index, slot) => {
      if (slot.kind === 'ok') values.push(JSON.parse(slot.json));
    });
    if (!(await this.store.exists(record.id))) return undefined;
    const reduced = reduceValues(record.reduce, values);
    this.kept.set(record.id, reduced);
    if (this.kept.size > KEPT) this.kept.delete(this.kept.keys().next().value!);
    return reduced;
  }
}
