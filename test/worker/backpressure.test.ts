/**
 * Backpressure (core/chunk-feeder.ts): a workload of a million items never becomes a million-item pile
 * of jobs in Redis. Its chunk payloads wait in the workload's hash and at most CHUNKS_IN_QUEUE_PER_WORKLOAD
 * chunk jobs exist at any time; the workload still completes with every item counted exactly once.
 */
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { eventually, startChunkmill, type ChunkmillHarness } from '../utils/chunkmill-harness';

const WINDOW = 6;
const ITEMS = 1_000_000;

describe('backpressure', () => {
  let chunkmill: ChunkmillHarness;
  let redis: Redis;
  beforeAll(async () => {
    const env = { CHUNKS_IN_QUEUE_PER_WORKLOAD: String(WINDOW) };
    chunkmill = await startChunkmill('backpressure', { producerEnv: env, workerEnv: env });
    redis = new Redis(chunkmill.config.REDIS_URL);
  });
  afterAll(async () => {
    redis?.disconnect();
    await chunkmill?.close();
  });

  it(`1,000,000 tiny items: at most ${WINDOW} chunk jobs in Redis at any sampled time, exact progress and sum`, async () => {
    // Sampled over the test's own connection: the sampling (every 3 ms) must not queue up behind, or in
    // front of, the producer's commands, which have a deadline (REDIS_COMMAND_TIMEOUT_MS).
    const queue = new Queue(chunkmill.producer.queues.compute.name, { connection: redis, prefix: chunkmill.prefix });
    let sampling = true;
    let samples = 0;
    let most = 0;
    let sawJobs = false;
    const sampler = (async () => {
      while (sampling) {
        const counts = await queue.getJobCounts('waiting', 'prioritized', 'active', 'delayed', 'paused', 'waiting-children');
        const jobs = Object.values(counts).reduce((a, b) => a + b, 0);
        most = Math.max(most, jobs);
        if (jobs > 0) sawJobs = true;
        samples++;
        await new Promise((resolve) => setTimeout(resolve, 3));
      }
    })();

    // sumSquares(3) = 0 + 1 + 4 = 5; chunks of 1000 items: 1000 chunks.
    const id = await chunkmill.api.submit({ type: 'compute', task: 'sumSquares', inputs: new Array(ITEMS).fill(3), reduce: 'sum' });
    const answer = await chunkmill.api.results(id, 120_000);
    sampling = false;
    await sampler;
    await queue.close();

    expect(answer.status).toBe('completed');
    expect(answer.reduced).toBe(5 * ITEMS);
    expect(answer.errors).toEqual([]);
    expect((await chunkmill.api.get(`/v1/workloads/${id}`)).body).toMatchObject({ total: ITEMS, completed: ITEMS, failed: 0, chunks: 1000 });
    expect(sawJobs).toBe(true);
    expect(samples).toBeGreaterThan(100);
    expect(most).toBeLessThanOrEqual(WINDOW);
    // The payloads are gone once the workload ended; only results (and small feeding state) remain.
    const keys = `${chunkmill.prefix}:wl:{${id}}`;
    expect(await redis.exists(`${keys}:chunks`)).toBe(0);
    // The reconciler takes the finished workload off the open list at its next look.
    await eventually(async () => (await redis.zcard(`${chunkmill.prefix}:open`)) === 0, 15_000, 100);
  }, 180_000);
});
