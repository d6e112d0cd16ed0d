/**
 * A whole chunkmill for a test: the producer in-process (quick, inspectable) and a real worker host
 * (cluster primary + forked processes + thread pools) from dist/, sharing a fresh key prefix.
 */
import path from 'node:path';
import { startProducerHarness, type ProducerHarness } from './producer-harness';
import { startRole, type RoleProcess } from './role-process';
import { testRedisUrl, uniquePrefix } from './redis';

export const FAULT_TASKS = path.resolve(__dirname, '../fixtures/fault-tasks.js');

export interface ChunkmillHarness extends ProducerHarness {
  worker: RoleProcess;
}

export interface ChunkmillOptions {
  /** Environment of the worker host (WORKER_PROCESSES defaults to 2 here). */
  workerEnv?: Record<string, string>;
  producerEnv?: Record<string, string>;
  /** When given, the in-process producer's log lines (at `trace`) go here. */
  producerLogLines?: string[];
}

export async function startChunkmill(name: string, options: ChunkmillOptions = {}): Promise<ChunkmillHarness> {
  const prefix = uniquePrefix(name);
  const shared = { REDIS_URL: testRedisUrl(), CHUNKMILL_PREFIX: prefix, CHUNKMILL_TASK_MODULES: FAULT_TASKS };
  // The in-process producer validates against the same task list the workers run.
  process.env.CHUNKMILL_TASK_MODULES = FAULT_TASKS;
  const harness = await startProducerHarness(name, { ...shared, RETRY_BACKOFF_MS: '50', ...options.producerEnv }, undefined, options.producerLogLines);
  const { process: worker } = await startRole('worker', {
    env: { ...shared, WORKER_PROCESSES: '2', WORKER_THREADS: '1', WORKER_METRICS_PORT: '0', ...options.workerEnv },
  });
  return {
    ...harness,
    worker,
    async close() {
      await worker.stop('SIGTERM');
      await harness.close();
    },
  };
}

/** Polls `check` until it answers true, for up to `timeoutMs`. */
export async function eventually(check: () => Promise<boolean> | boolean, timeoutMs = 10_000, intervalMs = 25): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
