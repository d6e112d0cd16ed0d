import { z } from 'zod';
import { defineTask } from './task-definition';

const SEGMENT_SIZE = 1 << 16;

/** Primes up to `limit` by a plain sieve; used to sieve the segments of the larger range. */
function smallPrimes(limit: number): number[] {
  const composite = new Uint8Array(limit + 1);
  const primes: number[] = [];
  for (let i = 2; i <= limit; i++) {
    if (composite[i]) continue;
    primes.push(i);
    for (let j = i * i; j <= limit; j += i) composite[j] = 1;
  }
  return primes;
}

/**
 * How many primes are below n. A segmented sieve: memory stays at one 64 KiB segment whatever n is,
 * so a large n costs time (CPU work), never the thread's heap.
 */
export const countPrimes = defineTask({
  name: 'countPrimes',
  description: 'How many primes are < n (segmented sieve; CPU-bound).',
  input: z.number().int().min(0).max(1e12),
  output: 'integer',
  deterministic: true,
  run(n: number): number {
    if (n <= 2) return 0;
    const sievingPrimes = smallPrimes(Math.floor(Math.sqrt(n)) + 1);
    const segment = new Uint8Array(SEGMENT_SIZE);
    let count = 0;
    for (let low = 2; low < n; low += SEGMENT_SIZE) {
      const high = Math.min(low + SEGMENT_SIZE, n);
      segment.fill(0);
      for (const p of sievingPrimes) {
        if (p * p >= high) break;
        const start = Math.max(p * p, Math.ceil(low / p) * p);
        for (let j = start; j < high; j += p) segment[j - low] = 1;
      }
      for (let i = 0; i < high - low; i++) if (segment[i] === 0) count++;
    }
    return count;
  },
});
