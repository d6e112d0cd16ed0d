/**
 * One of the N independent processes of the CPU baseline: waits for the agreed start time, runs its
 * share of the items inline, and prints when it finished. No queue, no IPC: the machine's own ceiling.
 * Usage: node cpu-share.js <n> <items> <startAtEpochMs>
 */
import { sumSquares } from '../../src/core/tasks/sum-squares';

const [n, items, startAt] = process.argv.slice(2).map(Number);
while (Date.now() < startAt) {
  // wait for the common start, so that process start-up is not counted against the baseline
}
for (let i = 0; i < items; i++) sumSquares.run(n);
process.stdout.write(`${Date.now()}\n`);
