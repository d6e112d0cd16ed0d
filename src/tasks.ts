/** chunkmill/tasks: what a task module needs. */
export { defineTask } from './core/tasks/task-definition';
export type * from './core/tasks/task-definition';
