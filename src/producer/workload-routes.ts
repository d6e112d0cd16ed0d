/** The `/v1` routes: thin HTTP wrappers around WorkloadService. */
import { randomUUID } from 'node:crypto';
import { Router, type RequestHandler } from 'express';
import { z } from 'zod';
import { listQuery, resultsQuery, WORKLOAD_ID, type SubmitAnswer, type TaskList } from '../contract';
import { ChunkmillError, NotFoundError } from '../core/errors';
import type { Keys } from '../core/keys';
import type { RedisSubscriber } from '../core/redis-subscriber';
import { listTasks } from '../core/tasks/task-registry';
import { parseOrThrow } from '../core/workload-schema';
import type { WorkloadStore } from '../core/workload-store';
import { identityOf } from '../core/tenants';
import { IdempotencyKeys } from './idempotency';
import { limitJsonDepth } from './json-depth';
import { NDJSON, streamResults } from './results-stream';
import { streamWorkloadEvents } from './workload-event-stream';
import type { WorkloadPresence } from './workload-presence';
import { resultsBody, type WorkloadService } from './workload-service';

/** How long a repeated Idempotency-Key waits for the first submission to be written. */
const IDEMPOTENT_REPEAT_WAIT_MS = 5_000;

export interface RouteDeps {
  service: WorkloadService;
  store: WorkloadStore;
  subscriber: RedisSubscriber;
  keys: Keys;
  idempotency: IdempotencyKeys;
  presence: WorkloadPresence;
  /**
   * How long a request waits for a new pub/sub subscription (an event stream) before answering 503.
   * @defaultValue no limit
   */
  subscribeTimeoutMs?: number;
}

const requireJson: RequestHandler = (req, _res, next) => {
  if (!req.is('application/json')) {
    return next(new ChunkmillError('UNSUPPORTED_MEDIA_TYPE', 'Send the workload as JSON (Content-Type: application/json).', 415));
  }
  next();
};

function workloadId(value: unknown): string {
  if (typeof value !== 'string' || !WORKLOAD_ID.test(value)) throw new NotFoundError(`No workload with id ${String(value).slice(0, 80)}.`);
  return value;
}

export function workloadRoutes(deps: RouteDeps, jsonBody: RequestHandler): Router {
  const router = Router();
  const { service, idempotency } = deps;

  router.post('/workloads', requireJson, jsonBody, limitJsonDepth, async (req, res) => {
    const submission = service.validate(req.body);
    const { tenant } = identityOf(res);
    const key = req.get('idempotency-key');
    const id = randomUUID();
    if (key !== undefined) {
      IdempotencyKeys.check(key);
      const deadline = Date.now() + IDEMPOTENT_REPEAT_WAIT_MS;
      for (;;) {
        const claim = await idempotency.claim(tenant, key, req.body, id);
        if (claim.kind === 'claimed') break;
        const existing = await deps.store.get(claim.workloadId);
        if (existing) {
          res.status(200).location(`/v1/workloads/${existing.id}`);
          const repeat: SubmitAnswer = { id: existing.id, status: existing.status, total: existing.total, chunks: existing.chunks };
          res.json(repeat);
          return;
        }
        if (Date.now() > deadline)
          throw new ChunkmillError('IDEMPOTENCY_IN_PROGRESS', 'The first submission with this key is still being written; retry.', 409);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
    let answer: SubmitAnswer;
    try {
      answer = await service.submit(submission, id, tenant);
    } catch (error) {
      if (key !== undefined) await idempotency.release(tenant, key).catch(() => undefined);
      throw error;
    }
    // The workload is accepted: should Redis fail to keep the claim for 24 h now, a repeat after the
    // pending minute could submit again, but the 202 below is true either way.
    if (key !== undefined) await idempotency.confirm(tenant, key).catch(() => undefined);
    res.status(202).location(`/v1/workloads/${id}`).json(answer);
  });

  router.get('/workloads', async (req, res) => {
    const query = parseOrThrow(listQuery, req.query, 'The query');
    res.json({ workloads: await service.list(query, identityOf(res)) });
  });

  router.get('/workloads/:id', async (req, res) => {
    res.json(await service.get(workloadId(req.params.id), identityOf(res)));
  });

  // One JSON body (a page with offset/limit), or with `Accept: application/x-ndjson` a stream of lines.
  router.get('/workloads/:id/results', async (req, res) => {
    const { wait, offset, limit } = parseOrThrow(resultsQuery, req.query, 'The query');
    const id = workloadId(req.params.id);
    const aborted = new AbortController();
    res.on('close', () => aborted.abort());
    res.vary('Accept');
    if (req.accepts(['application/json', NDJSON]) === NDJSON) {
      const record = await service.resultsRecord(id, wait, aborted.signal, identityOf(res));
      await streamResults(
        res,
        record,
        { offset, limit },
        { store: deps.store, explainMissing: (missing, createdAt) => service.explainMissing(missing, createdAt) },
      );
      return;
    }
    res.type('application/json').send(resultsBody(await service.results(id, wait, aborted.signal, identityOf(res), { offset, limit })));
  });

  router.get('/workloads/:id/events', async (req, res) => {
    await streamWorkloadEvents(res, workloadId(req.params.id), deps, identityOf(res));
  });

  router.delete('/workloads/:id', async (req, res) => {
    res.json(await service.cancel(workloadId(req.params.id), identityOf(res)));
  });

  router.get('/tasks', (_req, res) => {
    const answer: TaskList = {
      tasks: listTasks().map((task) => ({
        name: task.name,
        description: task.description,
        input: z.toJSONSchema(task.input, { unrepresentable: 'any' }),
        output: task.output,
        deterministic: task.deterministic,
      })),
    };
    res.json(answer);
  });

  return router;
}
