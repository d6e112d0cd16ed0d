/**
 * The SDK when the server loses a workload (its Redis restarted without its data): every call that
 * waits for it ends with WorkloadLostError instead of hanging. The in-process producer, no worker:
 * workloads stay queued until their state is removed under them.
 */
import { Redis } from 'ioredis';
import { ChunkmillApiError, Pool, WorkloadLostError } from '../../src';
import { Keys } from '../../src/core/keys';
import { startProducerHarness, type ProducerHarness } from '../utils/producer-harness';
import { testRedisUrl } from '../utils/redis';
import { validatingFetch } from '../utils/openapi-validator';

describe('Pool (SDK) and lost workloads', () => {
  // Every answer the Pool received matches the OpenAPI document (streams are checked when they end).
  const validating = validatingFetch();
  let harness: ProducerHarness;
  let redis: Redis;
  let keys: Keys;
  let pool: Pool;

  beforeEach(async () => {
    harness = await startProducerHarness('sdk-lost');
    redis = new Redis(testRedisUrl());
    keys = new Keys(harness.prefix);
    pool = new Pool({ url: harness.api.baseUrl, fetch: validating });
  });
  afterEach(async () => {
    redis.disconnect();
    await harness.close();
    expect(validating.violations.map((violation) => violation.message)).toEqual([]);
  });

  /** Waits until a workload exists, then removes all of its state, index entry included. */
  const loseNextWorkload = async (): Promise<string> => {
    let ids: string[] = [];
    while (ids.length === 0) {
      ids = await redis.zrange(keys.workloadIndex, 0, -1);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    // After the subscriber's first resync: the presence check is what notices.
    await new Promise((resolve) => setTimeout(resolve, 500));
    for (const id of ids) {
      const wl = keys.workload(id);
      await redis.del(wl.meta, wl.results, wl.chunks, wl.feed, wl.doneChunks);
      await redis.zrem(keys.workloadIndex, id);
    }
    return ids[0];
  };

  const expectLost = async (call: Promise<unknown>, id: Promise<string>): Promise<void> => {
    const started = Date.now();
    const error = await call.then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    expect(error).toBeInstanceOf(WorkloadLostError);
    expect(error).toBeInstanceOf(ChunkmillApiError);
    expect(error).toMatchObject({ code: 'WORKLOAD_LOST', status: 410, workloadId: await id });
    expect(Date.now() - started).toBeLessThan(8000);
  };

  it('imapUnordered ends with WorkloadLostError', async () => {
    const consume = (async () => {
      for await (const value of pool.imapUnordered('sumSquares', [1, 2, 3])) void value;
    })();
    await expectLost(consume, loseNextWorkload());
  });

  it('imap ends with WorkloadLostError', async () => {
    const consume = (async () => {
      for await (const value of pool.imap('sumSquares', [1, 2, 3])) void value;
    })();
    await expectLost(consume, loseNextWorkload());
  });

  it('map and AsyncResult.get end with WorkloadLostError; status() says it too', async () => {
    await expectLost(pool.map('sumSquares', [1, 2, 3]), loseNextWorkload());
    const handle = await pool.applyAsync('sumSquares', 4);
    await expectLost(handle.get(), loseNextWorkload());
    await expect(pool.status(handle.id)).rejects.toBeInstanceOf(WorkloadLostError);
  });
});
