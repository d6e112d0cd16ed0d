/**
 * The entry point of a compute thread (run by piscina). It runs one item of a registered task and
 * reports how long it took. A task's own exception is an answer, not a crash: it comes back as
 * `{ok: false}`, so the caller can tell a task error from a thread that died.
 */
import { toJsonSafe } from '../core/json-numbers';
import { findTask } from '../core/tasks/task-registry';

export interface ThreadTask {
  task: string;
  input: unknown;
  /** When given, the thread writes the time it starts the item here (epoch ms), for the item's timeout. */
  startedAt?: Float64Array;
}

export type ThreadAnswer =
  | { ok: true; value: unknown; runMs: number }
  | { ok: false; message: string; runMs: number };

export default async function runItem({ task, input, startedAt }: ThreadTask): Promise<ThreadAnswer> {
  if (startedAt) startedAt[0] = Date.now();
  const started = performance.now();
  const definition = findTask(task);
  if (!definition) return { ok: false, message: `Unknown task "${task}"`, runMs: 0 };
  try {
    const value = await definition.run(input);
    return { ok: true, value: toJsonSafe(value), runMs: performance.now() - started };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { ok: false, message, runMs: performance.now() - started };
  }
}
