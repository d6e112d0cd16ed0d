/**
 * REDIS_WAIT_REPLICAS against a real master and replica (their own redis-servers, never the shared one):
 * without a replica a submission is refused (503) and rolled back, and a recording fails as Redis being
 * unavailable; once a replica follows the master, both go through.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { Keys } from '../../src/core/keys';
import { isRedisUnavailable } from '../../src/core/redis-errors';
import { RedisServer, freePort } from '../../src/core/redis-server';
import { ReplicaWait } from '../../src/core/replica-wait';
import { WorkloadStore } from '../../src/core/workload-store';
import { eventually } from '../utils/chunkmill-harness';
import { startProducerHarness, type ProducerHarness } from '../utils/producer-harness';

describe('REDIS_WAIT_REPLICAS', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chunkmill-replica-wait-'));
  let master: RedisServer;
  let replica: RedisServer | undefined;
  let harness: ProducerHarness | undefined;
  let redis: Redis;

  beforeAll(async () => {
    master = new RedisServer({ port: await freePort(), dir: path.join(dir, 'master') });
    await master.start();
    redis = new Redis(master.url, { maxRetriesPerRequest: 1 });
  });
  afterAll(async () => {
    await harness?.close().catch(() => undefined);
    redis?.disconnect();
    await replica?.stop({ hard: true });
    await master?.stop({ hard: true });
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a submission no replica acknowledged (503, nothing left), and accepts it once a replica follows', async () => {
    const env = { REDIS_URL: master.url, REDIS_WAIT_REPLICAS: '1', REDIS_WAIT_TIMEOUT_MS: '200' };
    harness = await startProducerHarness('replica-wait', env);
    const body = { type: 'compute', task: 'sumSquares', inputs: [1, 2, 3] };
    const refused = await harness.api.post('/v1/workloads', body);
    expect(refused.status).toBe(503);
    expect(refused.body.error.code).toBe('REDIS_UNAVAILABLE');
    // Rolled back: no workload record, no job.
    await eventually(async () => (await redis.keys(`${harness!.prefix}:wl:*`)).length === 0, 5_000);
    expect(await harness.producer.queues.compute.count()).toBe(0);

    replica = new RedisServer({ port: await freePort(), dir: path.join(dir, 'replica'), args: ['--replicaof', '127.0.0.1', String(new URL(master.url).port)] });
    await replica.start();
    await eventually(async () => (await redis.info('replication')).includes('state=online'), 10_000, 100);
    const accepted = await harness.api.post('/v1/workloads', body);
    expect(accepted.status).toBe(202);
    // What the 202 acknowledged is on the replica already.
    const onReplica = new Redis(replica.url);
    try {
      expect(await onReplica.hget(`${harness.prefix}:wl:{${accepted.body.id}}:meta`, 'total')).toBe('3');
    } finally {
      onReplica.disconnect();
    }
  });

  it('fails a recording that no replica acknowledged as Redis being unavailable (its chunk runs again later)', async () => {
    const keys = new Keys('replica-wait-store');
    const store = new WorkloadStore(redis, keys, 60, new ReplicaWait({ replicas: 2, timeoutMs: 100 }));
    await store.create({
      id: 'w',
      type: 'compute',
      status: 'queued',
      total: 1,
      completed: 0,
      failed: 0,
      chunks: 1,
      chunkSize: 1,
      attempts: 1,
      priority: 5,
      createdAt: Date.now(),
    });
    const failure = await store.recordChunk('w', { index: 0, start: 0, size: 1 }, [{ index: 0, ok: true, value: 1 }]).catch((error: unknown) => error);
    expect(isRedisUnavailable(failure)).toBe(true);
    expect((failure as Error).message).toMatch(/1 of 2 Redis replicas/);
    // The write itself is on the master; the chunk's next run finds the item recorded and changes nothing.
    const enough = new WorkloadStore(redis, keys, 60, new ReplicaWait({ replicas: 1, timeoutMs: 1000 }));
    expect(await enough.recordChunk('w', { index: 0, start: 0, size: 1 }, [{ index: 0, ok: true, value: 1 }])).toMatchObject({
      status: 'completed',
      newlyCompleted: 0,
    });
  });
});
