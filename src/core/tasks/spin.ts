import { z } from 'zod';
import { defineTask } from './task-definition';

/** Keeps one CPU busy for `ms` milliseconds: a stand-in for any CPU-bound item of known length. */
export const spin = defineTask({
  name: 'spin',
  description: 'Keeps a CPU busy for `ms` milliseconds; returns the milliseconds spent.',
  input: z.strictObject({ ms: z.number().min(0).max(3_600_000) }),
  output: 'number',
  deterministic: false,
  run({ ms }: { ms: number }): number {
    const start = performance.now();
    while (performance.now() - start < ms) {
      // busy on purpose
    }
    return performance.now() - start;
  },
});
