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
import { ConfigError } from '../errors';
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

/** A task module that cannot be used: told like a bad setting (one line naming the variable, exit code 2). */
function taskModuleError(modulePath: string, reason: string): ConfigError {
  const message = `CHUNKMILL_TASK_MODULES: ${modulePath}: ${reason}`;
  return new ConfigError(message, [message]);
}

/** The first line of what a failed `require` threw (Node appends the require stack on the lines after). */
function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split('\n')[0].trim() || (error instanceof Error ? error.name : 'unknown error');
}

interface LoadedTask {
  task: TaskDefinition;
  /** The entry of CHUNKMILL_TASK_MODULES it came from; undefined for a built-in task. */
  modulePath?: string;
}

/**
 * Loads the tasks of the modules named in CHUNKMILL_TASK_MODULES (resolved from the working directory).
 * A module that is missing, throws while loading or exports no task is a ConfigError.
 */
function loadTaskModules(list: string | undefined): LoadedTask[] {
  const tasks: LoadedTask[] = [];
  for (const modulePath of (list ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean)) {
    const resolved = path.resolve(modulePath);
    let exported: unknown;
    try {
      exported = require(resolved);
    } catch (error) {
      const missing = (error as { code?: string }).code === 'MODULE_NOT_FOUND' && firstLine(error).includes(resolved);
      throw taskModuleError(modulePath, missing ? `no such module (${resolved})` : `failed to load: ${firstLine(error)}`);
    }
    const candidates = [exported, (exported as { default?: unknown })?.default, ...Object.values(exported ?? {})].flat();
    const found = [...new Set(candidates.filter(isTaskDefinition))];
    if (found.length === 0) throw taskModuleError(modulePath, 'exports no task definition (export defineTask({...}), or an array of them)');
    tasks.push(...found.map((task) => ({ task, modulePath })));
  }
  return tasks;
}

let registry: Map<string, TaskDefinition> | undefined;

// A Map, not an object: a task name like "__proto__" or "constructor" must simply be unknown.
function tasksByName(): Map<string, TaskDefinition> {
  if (registry) return registry;
  const map = new Map<string, LoadedTask>();
  const builtIn: LoadedTask[] = builtInTasks.map((task) => ({ task: task as unknown as TaskDefinition }));
  for (const loaded of [...builtIn, ...loadTaskModules(process.env.CHUNKMILL_TASK_MODULES)]) {
    const existing = map.get(loaded.task.name);
    if (existing && existing.task !== loaded.task) {
      const where = existing.modulePath === undefined ? 'built in' : `in ${existing.modulePath}`;
      throw taskModuleError(loaded.modulePath ?? '', `a task named "${loaded.task.name}" is defined already (${where})`);
    }
    map.set(loaded.task.name, loaded);
  }
  registry = new Map([...map].map(([name, { task }]) => [name, task]));
  return registry;
}

/**
 * Loads the task modules now (the built-in tasks and CHUNKMILL_TASK_MODULES'), so that a role that
 * runs tasks refuses to start, with a ConfigError, on a module it cannot use.
 */
export function loadTasks(): void {
  tasksByName();
}

export function findTask(name: string): TaskDefinition | undefined {
  return tasksByName().get(name);
}

export function listTasks(): TaskDefinition[] {
  return [...tasksByName().values()];
}
