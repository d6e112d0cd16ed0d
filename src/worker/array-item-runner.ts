/**
 * Runs the items of an array workload's chunk (see core/array-tasks.ts). An item is an element range:
 * its slices of x (and y) come from Redis with one GETRANGE each, straight into SharedArrayBuffers; a
 * compute thread runs the kernel over those same buffers (shared, not copied) and fills `out`'s buffer;
 * that buffer goes back to Redis with one SETRANGE. The only copy is the one out of the socket's bytes.
 *
 * Slices are read only when the item may run (a semaphore of two items per thread: one computing, one
 * moving bytes), so a chunk of many large items holds a few items' memory at a time, not all of it.
 */
import type { ArrayStore } from '../core/array-store';
import { FLOAT64_BYTES } from '../core/array-store';
import { findArrayTask } from '../core/array-tasks';
import { ItemError, ItemErrorCode } from '../core/errors';
import type { ComputeChunkData, ElementRange } from '../core/workload';
import type { ChunkItemRunner } from './chunk-run';
import { Semaphore } from './semaphore';
import type { ItemRun, ThreadPool } from './thread-pool';

/** Items in memory per compute thread: one on the thread, one being read or written. */
const ITEMS_IN_MEMORY_PER_THREAD = 2;

export class ArrayItemRunners {
  private readonly inMemory: Semaphore;
  /**
   * Shared buffers of finished items, by size, for the next items: items of one workload have one size,
   * so after the first few no item allocates (and zero-fills) 3 × 8 MiB, nor leaves it to the collector.
   * Only buffers of items whose thread returned come back here; after an abort or a timeout the thread
   * may still be writing into its buffers, so those are dropped.
   */
  private readonly spare = new Map<number, SharedArrayBuffer[]>();

  constructor(
    private readonly pool: ThreadPool,
    private readonly arrays: ArrayStore,
  ) {
    this.inMemory = new Semaphore(pool.threads * ITEMS_IN_MEMORY_PER_THREAD);
  }

  /** The runner of one chunk's items; `onRun` sees each item's thread run (for metrics). */
  forChunk(data: ComputeChunkData, onRun: (run: ItemRun) => void): ChunkItemRunner {
    const task = findArrayTask(data.task);
    const bindings = data.arrays!;
    return {
      run: async (index, signal) => {
        if (!task) throw new ItemError(ItemErrorCode.TASK_ERROR, `Unknown array task "${data.task}"`);
        const { start, end } = data.inputs[index - data.start] as ElementRange;
        const bytes = (end - start) * FLOAT64_BYTES;
        await this.inMemory.acquire(signal);
        const buffers: { x?: SharedArrayBuffer; y?: SharedArrayBuffer; out?: SharedArrayBuffer } = {};
        let reusable = true;
        try {
          const found = await Promise.all(
            task.reads.map((role) => {
              buffers[role] = this.take(bytes);
              return this.arrays.readRangeInto(bindings[role]!, start, end, new Uint8Array(buffers[role]!));
            }),
          );
          if (found.includes(false)) throw missing(bindings, 'read');
          if (task.writes) buffers.out = this.take(bytes);
          reusable = false;
          const run = await this.pool.runArrayKernel({ task: task.name, x: buffers.x!, y: buffers.y, out: buffers.out }, { signal, timeoutMs: data.timeoutMs });
          reusable = true;
          if (buffers.out && !(await this.arrays.writeRange(bindings.out!, data.arrayLength!, start, new Uint8Array(buffers.out))))
            throw missing(bindings, 'write');
          onRun(run);
          return run.value;
        } finally {
          if (reusable) for (const buffer of Object.values(buffers)) if (buffer) this.give(buffer);
          this.inMemory.release();
        }
      },
      // An array that is gone stays gone for every retry of the chunk.
      isPermanent: (error) => error.code === ItemErrorCode.ARRAY_MISSING,
    };
  }

  private take(bytes: number): SharedArrayBuffer {
    return this.spare.get(bytes)?.pop() ?? new SharedArrayBuffer(bytes);
  }

  private give(buffer: SharedArrayBuffer): void {
    // Two sizes are kept (a workload's items, and its shorter last item); a third replaces the oldest.
    let list = this.spare.get(buffer.byteLength);
    if (!list) {
      if (this.spare.size >= SPARE_SIZES) this.spare.delete(this.spare.keys().next().value!);
      list = [];
      this.spare.set(buffer.byteLength, list);
    }
    if (list.length < this.pool.threads * ITEMS_IN_MEMORY_PER_THREAD * SPARE_PER_ITEM) list.push(buffer);
  }
}

/** Spare buffers kept per size: enough for every item in memory at once (x, y and out each). */
const SPARE_PER_ITEM = 3;
const SPARE_SIZES = 2;

function missing(bindings: NonNullable<ComputeChunkData['arrays']>, what: 'read' | 'write'): ItemError {
  // The names as the tenant gave them, without the tenant part of their Redis names (core/tenants.ts).
  const names = Object.values(bindings)
    .filter(Boolean)
    .map((name) => name!.slice(name!.lastIndexOf('/') + 1))
    .join(', ');
  return new ItemError(ItemErrorCode.ARRAY_MISSING, `Could not ${what} the item's range: one of the arrays (${names}) expired, was deleted or is shorter now.`);
}
