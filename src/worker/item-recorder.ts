/**
 * Writes finished items to the workload store as they come in, in group commits shared by every chunk of
 * a workload running in this process: the first item of a group waits LINGER_MS for the others, and while
 * one write is in flight the next items gather for the write after it. Progress thus moves every few
 * milliseconds when items are slow, and costs few round trips when they are fast.
 *
 * The linger matters for fetch: the answers of a round of requests land within a few milliseconds of each
 * other, each one a separate event; writing at the first of them put a Redis call (a socket write, and a
 * script run on the Redis that shares the cores) in the middle of the burst, ahead of the next requests
 * waiting to be sent. Sharing matters too: a process runs several chunks of a fetch workload at once, and
 * one recorder per chunk made as many writes per round as chunks.
 *
 * `add` answers when its item is written; a chunk waits for its own items with `hurry` then those answers,
 * so a chunk (and a workload's last item) is never held back by the linger. A failed write fails the chunks
 * whose items it held, and only those.
 */
import type { WorkloadStore } from '../core/workload-store';
import type { ItemOutcome } from '../core/workload';

/** Items per write at most (each is one HSET inside the recording script). */
const MAX_BATCH = 500;
/** How long the first item of a group waits for others before they are written together. */
const LINGER_MS = 20;

interface Batch {
  outcomes: ItemOutcome[];
  written: Promise<void>;
  settle(error?: unknown): void;
}

function newBatch(): Batch {
  let settle!: (error?: unknown) => void;
  const written = new Promise<void>((resolve, reject) => {
    settle = (error) => (error === undefined ? resolve() : reject(error));
  });
  // Awaited by the chunks that added to it; this keeps a failure nobody awaits yet from being unhandled.
  written.catch(() => undefined);
  return { outcomes: [], written, settle };
}

export class ItemRecorder {
  /** Items gathering for the next write. */
  private gathering?: Batch;
  /** Full batches waiting for their write, oldest first. */
  private readonly queued: Batch[] = [];
  private writing = false;
  private lingering?: NodeJS.Timeout;
  private hurried = false;

  constructor(
    private readonly store: WorkloadStore,
    private readonly workloadId: string,
  ) {}

  /** Queues an item's outcome; answers when it is written (rejects when its write failed). */
  add(outcome: ItemOutcome): Promise<void> {
    if (!this.gathering || this.gathering.outcomes.length >= MAX_BATCH) this.startBatch();
    const batch = this.gathering!;
    batch.outcomes.push(outcome);
    this.schedule();
    return batch.written;
  }

  /** Ends the linger: what has gathered is written as soon as no write is in flight. */
  hurry(): void {
    this.hurried = true;
    this.schedule();
  }

  private startBatch(): void {
    // A full batch waits for its turn: writes go one at a time, oldest first.
    if (this.gathering) this.queued.push(this.gathering);
    this.gathering = newBatch();
  }

  /** Writes at once when hurried or when a batch is full; otherwise starts the linger for the items waiting. */
  private schedule(): void {
    if (this.writing) return;
    if (this.hurried || this.queued.length > 0) {
      if (this.lingering) clearTimeout(this.lingering);
      this.lingering = undefined;
      void this.write();
      return;
    }
    if (this.lingering || !this.gathering) return;
    this.lingering = setTimeout(() => {
      this.lingering = undefined;
      void this.write();
    }, LINGER_MS);
  }

  /** One write of the oldest batch; items that come in meanwhile wait for the next. */
  private async write(): Promise<void> {
    const batch = this.queued.shift() ?? this.gathering;
    if (!batch) {
      this.hurried = false;
      return;
    }
    if (batch === this.gathering) this.gathering = undefined;
    // A hurry covers what had gathered when it came: over once the last of that is on its way.
    if (!this.gathering && this.queued.length === 0) this.hurried = false;
    this.writing = true;
    try {
      await this.store.recordItems(this.workloadId, batch.outcomes);
      batch.settle();
    } catch (error) {
      batch.settle(error);
    } finally {
      this.writing = false;
      this.schedule();
    }
  }
}

/** One recorder per workload with chunks running in this process; dropped when its last chunk is done. */
export class ItemRecorders {
  private readonly recorders = new Map<string, { recorder: ItemRecorder; users: number }>();

  constructor(private readonly store: WorkloadStore) {}

  /** The workload's recorder for a chunk; call the answer when the chunk has waited for its items. */
  retain(workloadId: string): { recorder: ItemRecorder; release(): void } {
    let entry = this.recorders.get(workloadId);
    if (!entry) {
      entry = { recorder: new ItemRecorder(this.store, workloadId), users: 0 };
      this.recorders.set(workloadId, entry);
    }
    const held = entry;
    held.users++;
    let released = false;
    return {
      recorder: held.recorder,
      release: () => {
        if (released) return;
        released = true;
        held.users--;
        // A recorder with writes still under way finishes them (its chunks gave up waiting); a chunk of the
        // workload that comes meanwhile starts a new one, which is harmless (recording is exactly-once).
        if (held.users === 0 && this.recorders.get(workloadId) === held) this.recorders.delete(workloadId);
      },
    };
  }
}
