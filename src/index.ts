/**
 * `chunkmill`: the SDK (`Pool`, its errors and types), as in `@chunkmill/client`, with `Pool` typed for
 * the built-in tasks by default. Loads nothing but the client at run time. Task modules import from
 * `chunkmill/tasks`; the roles are `chunkmill/producer`, `chunkmill/worker`, `chunkmill/dashboard`.
 */
import { Pool as ClientPool, type TaskMap } from '@chunkmill/client';
import type { BuiltInTaskTypes } from './core/tasks/built-in-task-types';

export * from '@chunkmill/client';
export type { BuiltInTaskTypes, TaskTypesOf } from './core/tasks/built-in-task-types';

/**
 * `@chunkmill/client`'s `Pool`, whose `Tasks` default to the built-in tasks (`pool.map('sumSquares', [2000])`
 * is `Promise<(number | string)[]>`); add your own with `new Pool<BuiltInTaskTypes & TaskTypesOf<[typeof fib]>>()`.
 */
export class Pool<Tasks extends TaskMap = BuiltInTaskTypes> extends ClientPool<Tasks> {}
