/**
 * Types of the built-in tasks, derived from the task registry at compile time only (type imports:
 * the SDK loads no zod schema at run time). `TaskInput<'sumSquares'>` is `number`; outputs are what
 * the task's `run` returns after the trip through JSON, where a BigInt becomes `number | string`.
 */
import type { z } from 'zod';
import type { BuiltInTasks } from '../core/tasks/task-registry';

/** A value as it comes back through JSON: a BigInt becomes a safe number or a decimal string. */
export type AsJson<T> = T extends bigint
  ? number | string
  : T extends ReadonlyArray<infer Element>
    ? AsJson<Element>[]
    : T extends Record<string, unknown>
      ? { [Key in keyof T]: AsJson<T[Key]> }
      : T;

/** The input and output of one task. */
export interface TaskSignature {
  input: unknown;
  output: unknown;
}

/** Signatures by task name: the built-in tasks. Extend it with `new Pool<MyTasks>()` for your own. */
export type BuiltInTaskTypes = {
  [Task in BuiltInTasks[number] as Task['name']]: {
    input: z.infer<Task['input']>;
    output: AsJson<Awaited<ReturnType<Task['run']>>>;
  };
};

export type TaskMap = Record<string, TaskSignature>;

/** A task's name: one the map knows (checked input and output), or any other string (unknown types). */
export type TaskName<Tasks extends TaskMap> = (keyof Tasks & string) | (string & {});
export type TaskInput<Tasks extends TaskMap, Name extends string> = Name extends keyof Tasks ? Tasks[Name]['input'] : unknown;
export type TaskOutput<Tasks extends TaskMap, Name extends string> = Name extends keyof Tasks ? Tasks[Name]['output'] : unknown;
