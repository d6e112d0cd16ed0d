/**
 * The limits of one submission: past MAX_ITEMS_PER_WORKLOAD (or MAX_BODY_BYTES) a 413 in the standard
 * error shape, with nothing written; and the window that bounds a workload's jobs in Redis at submit.
 */
import { Redis } from 'ioredis';
import { startProducerHarness, type ProducerHarness } from '../utils/producer-harness';
import { countKeys, testRedisUrl } from '../utils/redis';

describe('workload limits', () => {
  let harness: ProducerHarness;
  let redis: Redis;
  beforeAll(async () => {
    harness = await startProducerHarness('limits', { MAX_ITEMS_PER_WORKLOAD: '1000', MAX_BODY_BYTES: String(64 * 1024), CHUNKS_IN_QUEUE_PER_WORKLOAD: '5' });
    redis = new Redis(testRedisUrl());
  });
  afterAll(async () => {
    redis.disconnect();
    await harness.close();
  });

  const jobCount = async (): Promise<number> => {
    let total = 0;
    for (const queue of Object.values(harness.producer.queues)) {
      const counts = await queue.getJobCounts('waiting', 'prioritized', 'active', 'delayed', 'paused');
      total += Object.values(counts).reduce((a, b) => a + b, 0);
    }
    return total;
  };

  it.each([
    ['compute inputs', { type: 'compute', task: 'sumSquares', inputs: new Array(1001).fill(1) }, 'inputs'],
    ['fetch urls', { type: 'fetch', urls: new Array(1001).fill('http://a.example/') }, 'urls'],
    ['fetch requests', { type: 'fetch', requests: new Array(1001).fill({ url: 'http://a.example/' }) }, 'requests'],
  ])('refuses more than MAX_ITEMS_PER_WORKLOAD %s with 413 PAYLOAD_TOO_LARGE and writes nothing', async (_name, body, path) => {
    const keysBefore = await countKeys(redis, harness.prefix);
    const answer = await harness.api.post('/v1/workloads', body);
    expect(answer.status).toBe(413);
    expect(answer.body).toEqual({
      error: { code: 'PAYLOAD_TOO_LARGE', message: expect.stringContaining('at most 1000'), details: [{ path, message: 'at most 1000 items' }] },
    });
    expect(await countKeys(redis, harness.prefix)).toBe(keysBefore);
    expect(await jobCount()).toBe(0);
  });

  it('refuses a body past MAX_BODY_BYTES with 413 in the same shape, writing nothing', async () => {
    const keysBefore = await countKeys(redis, harness.prefix);
    // 900 items (under the item limit) of 120 bytes each: past the 64 KiB body limit.
    const answer = await harness.api.post('/v1/workloads', { type: 'fetch', urls: new Array(900).fill(`http://a.example/${'x'.repeat(100)}`) });
    expect(answer.status).toBe(413);
    expect(answer.body.error).toEqual({ code: 'PAYLOAD_TOO_LARGE', message: expect.any(String), details: [] });
    expect(await countKeys(redis, harness.prefix)).toBe(keysBefore);
    expect(await jobCount()).toBe(0);
  });

  it('accepts exactly MAX_ITEMS_PER_WORKLOAD items, queueing only the window of chunk jobs', async () => {
    const answer = await harness.api.post('/v1/workloads', { type: 'compute', task: 'sumSquares', inputs: new Array(1000).fill(1), chunkSize: 10 });
    expect(answer.status).toBe(202);
    expect(answer.body).toMatchObject({ total: 1000, chunks: 100 });
    expect(await jobCount()).toBe(5);
    // Every other chunk waits in the workload's own hash, not as a job.
    expect(await redis.hlen(`${harness.prefix}:wl:{${answer.body.id}}:chunks`)).toBe(100);
    expect((await harness.api.delete(`/v1/workloads/${answer.body.id}`)).status).toBe(200);
    expect(await jobCount()).toBe(0);
    expect(await redis.exists(`${harness.prefix}:wl:{${answer.body.id}}:chunks`)).toBe(0);
  });

  it('refuses "cache": true for a task that is not deterministic (400), writing nothing', async () => {
    const keysBefore = await countKeys(redis, harness.prefix);
    const answer = await harness.api.post('/v1/workloads', { type: 'compute', task: 'sleep', inputs: [{ ms: 1 }], cache: true });
    expect(answer.status).toBe(400);
    expect(answer.body.error).toMatchObject({ code: 'VALIDATION_FAILED', details: [{ path: 'cache', message: expect.any(String) }] });
    expect(await countKeys(redis, harness.prefix)).toBe(keysBefore);
    expect(await jobCount()).toBe(0);
  });
});
