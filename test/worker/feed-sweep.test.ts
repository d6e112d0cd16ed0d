/**
 * Crash safety of windowed feeding (core/chunk-feeder.ts): a chunk that was claimed for the queue but
 * whose job never arrived (its feeder died between the two steps) is found by the worker host's feed
 * sweep and added again, so the workload still completes with every item counted once.
 */
import { Redis } from 'ioredis';
import { FAULT_TASKS, eventually } from '../utils/chunkmill-harness';
import { startProducerHarness, type ProducerHarness } from '../utils/producer-harness';
import { startRole, type RoleProcess } from '../utils/role-process';
import { testRedisUrl, uniquePrefix } from '../utils/redis';

describe('reconciler: windowed feeding', () => {
  let harness: ProducerHarness;
  let worker: RoleProcess | undefined;
  let redis: Redis;
  afterAll(async () => {
    await worker?.stop('SIGTERM');
    redis?.disconnect();
    await harness?.close();
  });

  it('re-adds a fed chunk whose job vanished before it ran; the workload completes exactly', async () => {
    const prefix = uniquePrefix('feed-sweep');
    const shared = { REDIS_URL: testRedisUrl(), CHUNKMILL_PREFIX: prefix, CHUNKMILL_TASK_MODULES: FAULT_TASKS, CHUNKS_IN_QUEUE_PER_WORKLOAD: '4' };
    harness = await startProducerHarness('feed-sweep', shared);
    redis = new Redis(testRedisUrl());
    // 20 chunks, a window of 4: chunks 0-3 are queued at submit.
    const id = await harness.api.submit({ type: 'compute', task: 'sumSquares', inputs: Array.from({ length: 40 }, (_, i) => i), chunkSize: 2 });
    const queue = harness.producer.queues.compute;
    expect(await queue.getJobCounts('prioritized')).toEqual({ prioritized: 4 });
    // As if the feeder that claimed chunk 2 died before adding it: the chunk is fed, but has no job.
    expect(await queue.remove(`${id}-2`)).toBe(1);

    ({ process: worker } = await startRole('worker', {
      env: { ...shared, WORKER_PROCESSES: '1', WORKER_THREADS: '1', WORKER_METRICS_PORT: '0', RECONCILE_INTERVAL_MS: '200' },
    }));
    const answer = await harness.api.results(id, 30_000);
    expect(answer.status).toBe('completed');
    expect(answer.results).toEqual(Array.from({ length: 40 }, (_, n) => (n * (n - 1) * (2 * n - 1)) / 6));
    expect((await harness.api.get(`/v1/workloads/${id}`)).body).toMatchObject({ completed: 40, failed: 0 });
    // Once the workload ended, its payloads are dropped and the reconciler no longer visits it.
    await eventually(async () => (await redis.zcard(`${prefix}:open`)) === 0, 5_000);
    expect(await redis.exists(`${prefix}:wl:{${id}}:chunks`)).toBe(0);
  }, 60_000);
});
