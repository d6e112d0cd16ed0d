/**
 * On a compute thread: runs an array task's kernel (core/array-tasks.ts) over one item's slices. The
 * slices arrive as SharedArrayBuffers, shared with the worker process, not copied: the thread reads x
 * and y and writes `out` through Float64Array views of the same memory the process filled from Redis
 * and will write back from.
 */
import { findArrayTask } from '../core/array-tasks';

export interface ArrayKernelTask {
  task: string;
  x: SharedArrayBuffer;
  y?: SharedArrayBuffer;
  out?: SharedArrayBuffer;
  /** When given, the thread writes the time it starts here (epoch ms), for the item's timeout. */
  startedAt?: Float64Array;
}

export type ArrayKernelAnswer = { ok: true; value: number; runMs: number } | { ok: false; message: string; runMs: number };

const view = (buffer: SharedArrayBuffer | undefined): Float64Array | undefined => (buffer ? new Float64Array(buffer) : undefined);

export function runArrayKernel({ task, x, y, out, startedAt }: ArrayKernelTask): ArrayKernelAnswer {
  if (startedAt) startedAt[0] = Date.now();
  const started = performance.now();
  const definition = findArrayTask(task);
  if (!definition) return { ok: false, message: `Unknown array task "${task}"`, runMs: 0 };
  try {
    const value = definition.run({ x: view(x)!, y: view(y), out: view(out) });
    return { ok: true, value, runMs: performance.now() - started };
  } catch (error) {
    return { ok: false, message: error instanceof Error ? error.message : String(error), runMs: performance.now() - started };
  }
}
