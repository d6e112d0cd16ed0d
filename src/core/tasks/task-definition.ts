import type { z } from 'zod';

/** What a task's output is, so that the producer can tell which reductions make sense for it. */
export type TaskOutputKind = 'integer' | 'number' | 'other';

/**
 * A compute task: a named, pure function of one JSON input. Tasks are code in this folder,
 * registered by name in `task-registry.ts`; a request only ever names a task, it never sends code.
 * The producer validates each input with `input` before anything is enqueued; a worker thread runs `run`.
 */
export interface TaskDefinition<Input = unknown, Output = unknown> {
  name: string;
  description: string;
  /** Validates one item's input at the HTTP edge; workers trust what it accepted. */
  input: z.ZodType<Input>;
  output: TaskOutputKind;
  /** Same input, same output, every time: only such tasks may be answered from a result cache. */
  deterministic: boolean;
  /** Runs on a worker thread. May return a BigInt; it is stored exactly (see json-numbers.ts). */
  run(input: Input): Output | Promise<Output>;
}

/** Keeps the task's name as a literal type, so that clients (the SDK) can key typed signatures by name. */
export function defineTask<Input, Output, Name extends string = string>(
  task: TaskDefinition<Input, Output> & { name: Name },
): TaskDefinition<Input, Output> & { name: Name } {
  return task;
}
