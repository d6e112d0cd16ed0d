/**
 * The entry point of a compute thread (run by piscina). It runs a batch of items of a registered task
 * and reports how long each took (one message per batch, not per item, is what makes tiny items
 * cheap). A task's own exception is an answer, not a crash: it comes back as
 * `{ok: false}`, so the caller can tell a task error from a thread that died.
 */
import { toJsonSafe } from '../core/json-numbers';
import { findTask } from '../core/tasks/task-registry';

// Array workloads' items run on the same threads, as piscina's named export `runArrayKernel`.
export { runArrayKernel } from './array-kernel-thread';

export interface ThreadTask {
  task: string;
  /** The items to run, one after another on this thread. */
  inputs: unknown[];
  /** When given, the thread writes the time it starts here (epoch ms), for the item's timeout. */
  startedAt?: Float64Array;
}

export type ThreadAnswer = { ok: true; value: unknown; runMs: number } | { ok: false; message: string; runMs: number };

/** Runs a batch of items of one task; answers one ThreadAnswer per input, in order. */
export default async function runItems({ task, inputs, startedAt }: ThreadTask): Promise<ThreadAnswer[]> {
  if (startedAt) startedAt[0] = Date.now();
  const definition = findTask(task);
  if (!definition) return inputs.map(() => ({ ok: false, message: `Unknown task "${task}"`, runMs: 0 }));
  const answers: ThreadAnswer[] = [];
  for (const input of inputs) {
    const started = performance.now();
    try {
      const value = await definition.run(input);
      answers.push({ ok: true, value: toJsonSafe(value), runMs: performance.now() - started });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      answers.push({ ok: false, message, runMs: performance.now() - started });
    }
  }
  return answers;
}
