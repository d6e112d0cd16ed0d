/**
 * The registry of compute tasks, by name.
 *
 * Adding a task: write a module that exports `defineTask({...})` (see task-definition.ts), then either
 * - list it in `builtInTasks` below (a task that ships with chunkmill), or
 * - name its compiled file in `CHUNKMILL_TASK_MODULES` (comma-separated paths; the module exports one
 *   task or an array of tasks). Producer and workers must see the same list.
 * The producer then accepts the task (validating inputs with its schema) and every worker thread can
 * run it. Tasks are deployed code: nothing a request sends is ever evaluated as code.
 */
import path from 'node:path';
import type { TaskDefinition } from './task-definition';
import { countPrimes } from './count-primes';
import { mulArrays } from './mul-arrays';
import { sleep } from './sleep';
import { spin } from './spin';
import { sumSquares } from './sum-squares';

const builtInTasks = [sumSquares, countPrimes, mulArrays, spin, sleep] as const;

/** The built-in task definitions as a tuple type: what the SDK derives its typed task signatures from. */
export type BuiltInTasks = typeof builtInTasks;
export type BuiltInTaskName = BuiltInTasks[number]['name'];

function isTaskDefinition(value: unknown): value is TaskDefinition {
  const task = value as Partial<TaskDefinition> | undefined;
  return (
    typeof task?.name === 'string' && typeof task.run === 'function' && typeof (task.input as { safeParse?: unknown } | undefined)?.safeParse === 'function'
  );
}

/** Loads the tasks of the modules named in CHUNKMILL_TASK_MODULES (resolved from the working directory). */
function loadTaskModules(list: string | undefined): TaskDefinition[] {
  const tasks: TaskDefinition[] = [];
  for (const modulePath of (list ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean)) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const exported: unknown = require(path.resolve(modulePath));
    const candidates = [exported, (exported as { default?: unknown })?.default, ...Object.values(exported ?? {})].flat();
    const found = candidates.filter(isTaskDefinition);
    if (found.length === 0) throw new Error(`CHUNKMILL_TASK_MODULES: ${modulePath} exports no task definition`);
    tasks.push(...found);
  }
  return tasks;
}

let registry: Map<string, TaskDefinition> | undefined;

// A Map, not an object: a task name like "__proto__" or "constructor" must simply be unknown.
function tasksByName(): Map<string, TaskDefinition> {
  if (registry) return registry;
  const map = new Map<string, TaskDefinition>();
  for (const task of [...builtInTasks, ...loadTaskModules(process.env.CHUNKMILL_TASK_MODULES)]) {
    const existing = map.get(task.name);
    if (existing && existing !== task) throw new Error(`Two tasks are named "${task.name}"`);
    map.set(task.name, task as unknown as TaskDefinition);
  }
  registry = map;
  return map;
}

export function findTask(name: string): TaskDefinition | undefined {
  return tasksByName().get(name);
}

export function listTasks(): TaskDefinition[] {
  return [...tasksByName().values()];
}
