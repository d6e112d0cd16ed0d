/**
 * How a `Pool` types task names, inputs and outputs. The SDK depends on nothing: the built-in tasks'
 * signatures (`BuiltInTaskTypes`) are derived on the server side (src/core/tasks/built-in-task-types.ts)
 * and are `Pool`'s default in the `chunkmill` package; `@chunkmill/client`'s `Pool` defaults to any task.
 * Outputs are what a task's `run` returns after the trip through JSON, where a BigInt becomes `number | string`.
 */

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

/** Signatures by task name, e.g. `{ fib: { input: number; output: number | string } }`: `new Pool<MyTasks>()`. */
export type TaskMap = Record<string, TaskSignature>;

/** A task's name: one the map knows (checked input and output), or any other string (unknown types). */
export type TaskName<Tasks extends TaskMap> = (keyof Tasks & string) | (string & {});
export type TaskInput<Tasks extends TaskMap, Name extends string> = Name extends keyof Tasks ? Tasks[Name]['input'] : unknown;
export type TaskOutput<Tasks extends TaskMap, Name extends string> = Name extends keyof Tasks ? Tasks[Name]['output'] : unknown;
