import { z } from 'zod';
import { defineTask } from './task-definition';

// i * i stays exact in a double while i < 94,906,266 (its square is below 2^53).
const LARGEST_EXACT_ROOT = 94_906_265;
// The running Number total is moved into a BigInt before it could pass 2^53.
const FLUSH_ABOVE = 2 ** 52;

/**
 * Σ i² for 0 ≤ i < n, by iterating, like the notebook's `much_cpu`: the loop is the point (CPU work),
 * not the closed form. Numbers are added as doubles while exact and carried into a BigInt, so the
 * answer is exact for any n and the loop stays as fast as plain arithmetic.
 */
export const sumSquares = defineTask({
  name: 'sumSquares',
  description: 'Σ i² for 0 ≤ i < n, computed by iterating (CPU-bound on purpose), exact for any n.',
  input: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  output: 'integer',
  deterministic: true,
  run(n: number): bigint {
    let total = 0n;
    let partial = 0;
    const fastEnd = Math.min(n, LARGEST_EXACT_ROOT + 1);
    for (let i = 0; i < fastEnd; i++) {
      partial += i * i;
      if (partial > FLUSH_ABOVE) {
        total += BigInt(partial);
        partial = 0;
      }
    }
    total += BigInt(partial);
    for (let i = BigInt(fastEnd); i < BigInt(n); i++) total += i * i;
    return total;
  },
});
