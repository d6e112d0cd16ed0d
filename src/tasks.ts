/**
 * `chunkmill/tasks`: what a task module needs. A task module exports `defineTask({...})` (one task or an
 * array of them); producer and workers load its compiled file from `CHUNKMILL_TASK_MODULES`. Its input
 * schema is a zod (v4) schema: the module imports `z` from its own `zod` dependency.
 */
export { defineTask } from './core/tasks/task-definition';
export type { TaskDefinition, TaskOutputKind } from './core/tasks/task-definition';
export type { BuiltInTaskName, BuiltInTasks } from './core/tasks/task-registry';
export type { BuiltInTaskTypes, TaskTypesOf } from './core/tasks/built-in-task-types';
export type { AsJson, TaskMap, TaskSignature } from '@chunkmill/client';
