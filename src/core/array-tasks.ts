/**
 * Compute tasks over named arrays (see array-store.ts). A workload names its arrays instead of sending
 * `inputs`; its items are element ranges of them. A worker reads an item's slices into shared memory,
 * a thread runs the kernel below over Float64Array views of that memory, and the worker writes `out`'s
 * slice back: no JSON, no element-by-element copy anywhere.
 *
 * Each item's result is a number: the elements written (for tasks with an `out` array) or the item's
 * partial answer (reductions), so that `reduce: "sum"` (exact, see reduce.ts) combines the partials.
 */

export interface ArrayKernelViews {
  x: Float64Array;
  y?: Float64Array;
  out?: Float64Array;
}

export interface ArrayTaskDefinition {
  name: string;
  description: string;
  /** The arrays the task reads, in the `arrays` object of the submission. */
  reads: ReadonlyArray<'x' | 'y'>;
  /** True when the task writes an `out` array of the inputs' length (created, or overwritten, at submit). */
  writes: boolean;
  /**
   * Runs on a compute thread over one item's slices. Must write every element of `out` (its buffer may
   * be a finished item's, reused).
   */
  run(views: ArrayKernelViews): number;
}

export const ARRAY_TASKS: readonly ArrayTaskDefinition[] = [
  {
    name: 'mulArrays',
    description: 'out[i] = x[i] * y[i]; an item answers how many elements it wrote.',
    reads: ['x', 'y'],
    writes: true,
    run({ x, y, out }) {
      for (let i = 0; i < x.length; i++) out![i] = x[i] * y![i];
      return x.length;
    },
  },
  {
    name: 'dot',
    description: 'Σ x[i] * y[i]; an item answers its range\'s partial sum (left to right), reduce "sum" adds them exactly.',
    reads: ['x', 'y'],
    writes: false,
    run({ x, y }) {
      let total = 0;
      for (let i = 0; i < x.length; i++) total += x[i] * y![i];
      return total;
    },
  },
  {
    name: 'sumArray',
    description: 'Σ x[i]; an item answers its range\'s partial sum (left to right), reduce "sum" adds them exactly.',
    reads: ['x'],
    writes: false,
    run({ x }) {
      let total = 0;
      for (let i = 0; i < x.length; i++) total += x[i];
      return total;
    },
  },
];

const byName = new Map(ARRAY_TASKS.map((task) => [task.name, task]));

export function findArrayTask(name: string): ArrayTaskDefinition | undefined {
  return byName.get(name);
}

/** Elements per item when a submission names none: 8 MiB per array slice. */
export const DEFAULT_ELEMENTS_PER_ITEM = 1 << 20;
