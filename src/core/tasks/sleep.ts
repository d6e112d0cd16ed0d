import { setTimeout as delay } from 'node:timers/promises';
import { z } from 'zod';
import { defineTask } from './task-definition';

/** Waits `ms` milliseconds without using a CPU: a stand-in for items that wait on something. */
export const sleep = defineTask({
  name: 'sleep',
  description: 'Waits `ms` milliseconds without CPU; returns the milliseconds waited.',
  input: z.strictObject({ ms: z.number().min(0).max(3_600_000) }),
  output: 'number',
  deterministic: false,
  async run({ ms }: { ms: number }): Promise<number> {
    const start = performance.now();
    await delay(ms);
    return performance.now() - start;
  },
});
