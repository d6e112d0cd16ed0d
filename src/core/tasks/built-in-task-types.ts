/**
 * Task signatures for the SDK's `Pool<Tasks>`, derived from task definitions at compile time only
 * (type imports: nothing here loads at run time). `BuiltInTaskTypes['sumSquares']['input']` is
 * `number`; an output is what the task's `run` returns after the trip through JSON (`AsJson`).
 */
import type { z } from 'zod';
import type { AsJson } from '@chunkmill/client';
import type { BuiltInTasks } from './task-registry';

/**
 * The signatures of some task definitions, by name: `new Pool<BuiltInTaskTypes & TaskTypesOf<[typeof fib]>>()`.
 */
export type TaskTypesOf<Tasks extends readonly { name: string; input: z.ZodType; run: (input: never) => unknown }[]> = {
  [Task in Tasks[number] as Task['name']]: {
    input: z.infer<Task['input']>;
    output: AsJson<Awaited<ReturnType<Task['run']>>>;
  };
};

/** Signatures of the tasks that ship with chunkmill: the default of `chunkmill`'s `Pool`. */
export type BuiltInTaskTypes = TaskTypesOf<BuiltInTasks>;
