/**
 * The dashboard's HTTP app:
 * - `/`                the live page (plain HTML + uPlot, no build step), fed by `/api/live` (SSE)
 * - `/metrics`         the queue-level metrics, read from Redis at scrape time
 * - `/queues`          bull-board, for inspecting (and, for admins with DASHBOARD_QUEUE_ADMIN, retrying) jobs
 * - `/api/overview`    queue depths and recent workloads as JSON
 * - `/signin`, `/signout`  the browser's sign-in (see dashboard-auth.ts for who may see what)
 * - `/healthz`         alive (answers at once, from the start)
 * - `/readyz`          200 once Redis answers and the queues are initialised; 503 with the reason until then
 */
import path from 'node:path';
import fs from 'node:fs';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import express, { type Express, type Router } from 'express';
import type { Logger } from 'pino';
import { errorHandler, notFoundHandler } from '../core/error-handler';
import { errorEnvelope, RedisUnavailableError } from '../core/errors';
import { identityOf } from '../core/tenants';
import type { DashboardAuth } from './dashboard-auth';
import type { Registry } from 'prom-client';
import type { ChunkQueues } from '../core/queues';
import type { LiveFeed } from './live-feed';

export interface DashboardAppDeps {
  registry: Registry;
  queues: ChunkQueues;
  feed: LiveFeed;
  auth: DashboardAuth;
  logger: Logger;
  /** Why the dashboard cannot serve now (waiting for Redis, queues not initialised), or undefined. */
  notReadyReason?: () => Promise<string | undefined>;
}

export const BULL_BOARD_PATH = '/queues';

/** The live page's files: next to this module when run from source, under src/ when run from dist/. */
function livePageDir(): string {
  const candidates = [path.join(__dirname, 'live-page'), path.resolve(__dirname, '../../../src/dashboard/live-page')];
  const found = candidates.find((dir) => fs.existsSync(path.join(dir, 'index.html')));
  if (!found) throw new Error(`live page files not found in ${candidates.join(' or ')}`);
  return found;
}

function uplotDir(): string {
  return path.dirname(require.resolve('uplot/dist/uPlot.iife.min.js'));
}

/** A bull-board for the queues, read-only (every action refused, and hidden in its UI) or not. */
function bullBoard(queues: ChunkQueues, readOnlyMode: boolean): Router {
  const board = new ExpressAdapter();
  board.setBasePath(BULL_BOARD_PATH);
  // @bull-board/express pins its own patch release of @bull-board/api: the same shapes, separate declarations.
  const serverAdapter = board as unknown as Parameters<typeof createBullBoard>[0]['serverAdapter'];
  // Queue names carry a Redis Cluster hash tag (`{prefix-compute}`); the board shows the plain kind.
  const adapters = Object.entries(queues).map(([kind, queue]) => new BullMQAdapter(queue, { displayName: kind, readOnlyMode }));
  createBullBoard({ queues: adapters, serverAdapter });
  return board.getRouter() as Router;
}

export function createDashboardApp(deps: DashboardAppDeps): Express {
  const { auth } = deps;
  const app = express();
  app.disable('x-powered-by');

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  // Open to everyone, like /healthz (a health check carries no token); polled, so not logged.
  app.get('/readyz', async (_req, res) => {
    const reason = await deps.notReadyReason?.();
    if (!reason) return void res.json({ status: 'ready' });
    const notReady = new RedisUnavailableError('Not ready: waiting for Redis.', [{ reason }]);
    res.status(503).set('Retry-After', String(notReady.retryAfterSeconds)).json(errorEnvelope(notReady));
  });
  app.use(auth.routes);
  app.use(auth.identify);

  app.get('/metrics', auth.requireMetricsReader, async (_req, res) => {
    try {
      const text = await deps.registry.metrics();
      res.type(deps.registry.contentType).send(text);
    } catch (error) {
      res
        .status(503)
        .type('text/plain')
        .send(`could not read the queues: ${error instanceof Error ? error.message : String(error)}\n`);
    }
  });

  app.use(auth.requireViewer);

  app.get('/api/overview', (_req, res) => {
    const { queues, workloads } = deps.feed.snapshot(identityOf(res));
    res.json({ queues, workloads });
  });

  // Server-Sent Events: the history first, then one `tick` per sample, with the workloads the viewer may see.
  app.get('/api/live', (req, res) => {
    const viewer = identityOf(res);
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    const send = (event: string, data: unknown): void => {
      res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    };
    send('snapshot', { ...deps.feed.snapshot(viewer), viewer: { tenant: viewer.tenant, admin: viewer.admin } });
    const unsubscribe = deps.feed.subscribe((tick) => send('tick', tick), viewer);
    req.on('close', unsubscribe);
  });

  // Two boards on one path: the writable one only for admins when DASHBOARD_QUEUE_ADMIN=true.
  const readOnlyBoard = bullBoard(deps.queues, true);
  const writableBoard = bullBoard(deps.queues, false);
  app.use(BULL_BOARD_PATH, auth.requireQueueAccess, (req, res, next) => (auth.canWriteQueues(identityOf(res)) ? writableBoard : readOnlyBoard)(req, res, next));

  app.use('/vendor/uplot', express.static(uplotDir()));
  app.use('/', express.static(livePageDir()));
  app.use(notFoundHandler);
  app.use(errorHandler(deps.logger));
  return app;
}
