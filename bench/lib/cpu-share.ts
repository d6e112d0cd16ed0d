/**
 * One of the N independent processes of the CPU baseline: waits for the agreed start time, runs its
 * share of the items inline, and prints when it finished. No queue, no IPC: the machine's own ceiling.
 * Usage: node cpu-share.js <n> <items> <startAtEpochMs>
 */
import { sumSquares } from '../../src/core/tasks/sum-squares';

const [n, items, startAt] = process.argv.slice(2).map(Number);
// Warm up as chunkmill's threads are warm (V8 has optimised the loop), then wait for the common start,
// so that neither process start-up nor compilation is counted against the baseline.
for (let warm = 0; warm < 30; warm++) sumSquares.run(1_000_000);
while (Date.now() < startAt) {
  // busy until the start, like the other processes
}
for (let i = 0; i < items; i++) sumSquares.run(n);
process.stdout.write(`${Date.now()}\n`);
