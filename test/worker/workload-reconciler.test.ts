/**
 * The reconciler against a real Redis, one look at a time: what a failover or a crash can lose (chunk
 * jobs, the outcomes of a chunk already marked done, a failed chunk's reap) is repaired, and nothing is
 * added for work that is on its way or for a submission that is not whole yet.
 */
import pino from 'pino';
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { ChunkFeeder } from '../../src/core/chunk-feeder';
import { Keys } from '../../src/core/keys';
import type { ChunkQueue } from '../../src/core/queues';
import { WorkloadReconciler } from '../../src/worker/workload-reconciler';
import { chunkJobId } from '../../src/core/workload';
import { startProducerHarness, type ProducerHarness } from '../utils/producer-harness';
import { testRedisUrl } from '../utils/redis';

const SETTINGS = { RETRY_BACKOFF_MS: 100, RESULT_TTL_SECONDS: 3600 };

describe('workload reconciler', () => {
  let harness: ProducerHarness;
  let redis: Redis;
  let keys: Keys;
  let queue: ChunkQueue;
  let reconciler: WorkloadReconciler;

  beforeAll(async () => {
    harness = await startProducerHarness('reconciler', { CHUNKS_IN_QUEUE_PER_WORKLOAD: '2' });
    redis = new Redis(testRedisUrl());
    keys = new Keys(harness.prefix);
    queue = harness.producer.queues.compute;
    const feeder = new ChunkFeeder(redis, keys, harness.producer.queues, { windowChunks: 2 });
    reconciler = new WorkloadReconciler(harness.producer.store, feeder, harness.producer.queues, pino({ level: 'silent' }), { ...SETTINGS, quietLooks: 1 });
  });
  afterAll(async () => {
    redis?.disconnect();
    await harness?.close();
  });

  const submit = (inputs: number[], extra: Record<string, unknown> = {}) =>
    harness.api.submit({ type: 'compute', task: 'sumSquares', inputs, chunkSize: 1, ...extra });
  const jobIds = async () => (await queue.getJobs(['prioritized', 'waiting', 'failed'])).map((job) => job.id).sort();

  it('adds the lost jobs of a workload again once two quiet looks agree they are missing; with the data and options they had', async () => {
    const id = await submit([1, 2]);
    const original = (await queue.getJob(chunkJobId(id, 0)))!;
    await queue.remove(chunkJobId(id, 0));
    await queue.remove(chunkJobId(id, 1));

    // Look 1 notes the progress; look 2 finds the workload quiet and the chunks missing (suspects); look 3 confirms.
    await reconciler.look();
    expect((await reconciler.look()).reAdded).toBe(0);
    expect((await reconciler.look()).reAdded).toBe(2);
    const again = (await queue.getJob(chunkJobId(id, 0)))!;
    expect(again.data).toEqual(original.data);
    expect(again.opts).toMatchObject({ attempts: original.opts.attempts, priority: original.opts.priority, removeOnComplete: true });
    // Jobs that exist are never added twice.
    expect((await reconciler.look()).reAdded).toBe(0);
    await harness.api.delete(`/v1/workloads/${id}`);
  });

  it('repairs a windowed workload: a fed chunk without a job, and a chunk marked done whose outcomes are missing', async () => {
    // 4 chunks, a window of 2: chunks 0 and 1 are fed at submit.
    const id = await submit([1, 2, 3, 4]);
    const wl = keys.workload(id);
    // Chunk 0 ran, but its outcomes went with a failed-over master; its done mark did not.
    await queue.remove(chunkJobId(id, 0));
    await redis.setbit(wl.doneChunks, 0, 1);
    await redis.hincrby(wl.feed, 'done', 1);
    // Chunk 1's job was lost before it ran.
    await queue.remove(chunkJobId(id, 1));

    let added = 0;
    for (let look = 0; look < 4; look++) added += (await reconciler.look()).reAdded;
    expect(added).toBeGreaterThanOrEqual(2);
    const ids = await jobIds();
    expect(ids).toEqual(expect.arrayContaining([chunkJobId(id, 0), chunkJobId(id, 1)]));
    await harness.api.delete(`/v1/workloads/${id}`);
  });

  it('leaves a submission that is not whole alone for its grace period, then repairs it', async () => {
    const id = 'half-written-submission';
    const createdAt = Date.now();
    const record = {
      id,
      type: 'compute' as const,
      task: 'sumSquares',
      status: 'queued' as const,
      total: 1,
      completed: 0,
      failed: 0,
      chunks: 1,
      chunkSize: 1,
      attempts: 3,
      priority: 5,
      createdAt,
    };
    const payload = { workloadId: id, chunkIndex: 0, start: 0, type: 'compute', task: 'sumSquares', inputs: [3] };
    await harness.producer.store.create(record, [JSON.stringify(payload)]);
    for (let look = 0; look < 4; look++) expect((await reconciler.look(createdAt + 1000)).reAdded).toBe(0);
    let added = 0;
    for (let look = 0; look < 4; look++) added += (await reconciler.look(createdAt + 120_000)).reAdded;
    expect(added).toBe(1);
    expect((await queue.getJob(chunkJobId(id, 0)))!.data).toEqual(payload);
    await harness.api.delete(`/v1/workloads/${id}`);
  });

  it('reaps a failed chunk whose items are still missing: the workload ends failed with CHUNK_LOST', async () => {
    const id = await submit([5], { attempts: 1 });
    const connection = new Redis(testRedisUrl(), { maxRetriesPerRequest: null });
    const worker = new Worker(
      queue.name,
      async () => {
        throw new Error('crashed');
      },
      { connection, prefix: harness.prefix },
    );
    await new Promise<void>((resolve) => worker.on('failed', () => resolve()));
    await worker.close();
    connection.disconnect();
    for (let look = 0; look < 3; look++) await reconciler.look();
    const answer = await harness.api.results(id);
    expect(answer.status).toBe('failed');
    expect(answer.errors).toEqual([{ index: 0, code: 'CHUNK_LOST', message: expect.stringContaining('crashed') }]);
  });

  it('takes final and vanished workloads off the open list', async () => {
    const cancelled = await submit([6]);
    await harness.api.delete(`/v1/workloads/${cancelled}`);
    const vanished = await submit([7]);
    await redis.del(keys.workload(vanished).meta);
    await reconciler.look();
    const open = await redis.zrange(keys.openWorkloads, 0, -1);
    expect(open).not.toContain(cancelled);
    expect(open).not.toContain(vanished);
  });
});
