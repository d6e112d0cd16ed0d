/**
 * The dashboard's HTTP app:
 * - `/`                the live page (plain HTML + uPlot, no build step), fed by `/api/live` (SSE)
 * - `/metrics`         the queue-level metrics, read from Redis at scrape time
 * - `/queues`          bull-board, for inspecting and retrying jobs
 * - `/api/overview`    queue depths and recent workloads as JSON
 * - `/healthz`
 */
import path from 'node:path';
import fs from 'node:fs';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import express, { type Express } from 'express';
import type { Registry } from 'prom-client';
import type { ChunkQueues } from '../core/queues';
import type { LiveFeed } from './live-feed';

export interface DashboardAppDeps {
  registry: Registry;
  queues: ChunkQueues;
  feed: LiveFeed;
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

export function createDashboardApp(deps: DashboardAppDeps): Express {
  const app = express();
  app.disable('x-powered-by');

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  app.get('/metrics', async (_req, res) => {
    try {
      const text = await deps.registry.metrics();
      res.type(deps.registry.contentType).send(text);
    } catch (error) {
      res.status(503).type('text/plain').send(`could not read the queues: ${error instanceof Error ? error.message : String(error)}\n`);
    }
  });

  app.get('/api/overview', (_req, res) => {
    const { queues, workloads } = deps.feed.snapshot();
    res.json({ queues, workloads });
  });

  // Server-Sent Events: the history first, then one `tick` per sample.
  app.get('/api/live', (req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    const send = (event: string, data: unknown): void => {
      res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    };
    send('snapshot', deps.feed.snapshot());
    const unsubscribe = deps.feed.subscribe((tick) => send('tick', tick));
    req.on('close', unsubscribe);
  });

  const board = new ExpressAdapter();
  board.setBasePath(BULL_BOARD_PATH);
  // @bull-board/express pins its own patch release of @bull-board/api: the same shapes, separate declarations.
  const serverAdapter = board as unknown as Parameters<typeof createBullBoard>[0]['serverAdapter'];
  // Queue names carry a Redis Cluster hash tag (`{prefix-compute}`); the board shows the plain kind.
  const adapters = Object.entries(deps.queues).map(([kind, queue]) => new BullMQAdapter(queue, { displayName: kind }));
  createBullBoard({ queues: adapters, serverAdapter });
  app.use(BULL_BOARD_PATH, board.getRouter());

  app.use('/vendor/uplot', express.static(uplotDir()));
  app.use('/', express.static(livePageDir()));
  return app;
}
