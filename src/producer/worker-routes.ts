/** `GET /v1/workers`: the worker hosts that are alive now and what they run (see core/worker-registry.ts). */
import { Router } from 'express';
import type { WorkerRegistry } from '../core/worker-registry';

export function workerRoutes(registry: WorkerRegistry): Router {
  const router = Router();
  router.get('/workers', async (_req, res) => {
    res.json({ workers: await registry.list() });
  });
  return router;
}
