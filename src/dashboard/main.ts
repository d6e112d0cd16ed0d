/**
 * `npm run dashboard`: for now a small JSON overview of the queues and recent workloads. The live
 * page, Prometheus metrics and bull-board come with the dashboard issue.
 */
import express from 'express';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { QUEUE_KINDS, Keys } from '../core/keys';
import { closeQueues, openQueues } from '../core/queues';
import { closeRedis, createRedis } from '../core/redis-connection';
import { runMain } from '../core/run-main';
import { WorkloadStore } from '../core/workload-store';
import { toWorkloadView } from '../core/workload';

runMain('dashboard', async (config, logger) => {
  const keys = new Keys(config.CHUNKMILL_PREFIX);
  const redis = createRedis(config.REDIS_URL, 'producer', 'chunkmill-dashboard');
  redis.on('error', (error) => logger.warn({ err: error }, 'redis connection error'));
  const queues = openQueues(redis, keys);
  const store = new WorkloadStore(redis, keys, config.RESULT_TTL_SECONDS);

  const app = express();
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/api/overview', async (_req, res) => {
    const counts = await Promise.all(
      QUEUE_KINDS.map(async (kind) => [kind, await queues[kind].getJobCounts('waiting', 'prioritized', 'active', 'delayed', 'failed')]),
    );
    const workloads = (await store.list({ limit: 20 })).map((record) => toWorkloadView(record));
    res.json({ queues: Object.fromEntries(counts), workloads });
  });
  const server: Server = await new Promise((resolve) => {
    const listening = app.listen(config.DASHBOARD_PORT, config.HOST, () => resolve(listening));
  });
  logger.info({ port: (server.address() as AddressInfo).port }, 'dashboard listening');
  return async () => {
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
    await closeQueues(queues);
    await closeRedis(redis);
  };
});
