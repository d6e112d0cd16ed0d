/**
 * The worker host's `/metrics` on WORKER_METRICS_PORT, served by the cluster primary: every process of
 * the host added up (cluster-metrics.ts). Port 0 picks a free port; the port is logged either way.
 * A port already in use turns the endpoint off with an error in the log, not the worker host off:
 * the work matters more than its metrics. The same port answers `/healthz` (alive: at once, from the
 * start) and `/readyz` (200 once the host takes work; 503 with the reason until then), for health checks.
 */
import http, { type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { ClusterMetrics } from './cluster-metrics';

export class HostMetricsServer {
  private server?: Server;

  constructor(
    private readonly metrics: ClusterMetrics,
    private readonly logger: Logger,
    /** Why the host is not ready (e.g. waiting for Redis), or undefined: what /readyz answers. */
    private readonly notReadyReason: () => Promise<string | undefined> = async () => undefined,
  ) {}

  async listen(port: number, host: string): Promise<void> {
    const server = http.createServer((req, res) => void this.answer(req, res));
    const listening = await new Promise<boolean>((resolve) => {
      server.once('error', (error: NodeJS.ErrnoException) => {
        this.logger.error({ err: error, port }, 'worker metrics port unavailable; /metrics is off');
        resolve(false);
      });
      server.listen(port, host, () => resolve(true));
    });
    if (!listening) return;
    this.server = server;
    this.logger.info({ port: (server.address() as AddressInfo).port }, 'worker metrics listening');
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  private async answer(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const path = (req.url ?? '').split('?')[0];
    if (req.method === 'GET' && (path === '/healthz' || path === '/readyz')) return this.answerHealth(path, res);
    if (req.method !== 'GET' || path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics\n');
      return;
    }
    try {
      const registry = await this.metrics.aggregated();
      res.writeHead(200, { 'content-type': registry.contentType }).end(await registry.metrics());
    } catch (error) {
      this.logger.warn({ err: error }, 'could not collect the worker metrics');
      res.writeHead(500, { 'content-type': 'text/plain' }).end('could not collect the metrics\n');
    }
  }

  private async answerHealth(path: string, res: http.ServerResponse): Promise<void> {
    const reason = path === '/readyz' ? await this.notReadyReason().catch((error: unknown) => String(error)) : undefined;
    const [status, body] = reason
      ? [503, { error: { code: 'NOT_READY', message: 'Not ready: this worker host takes no work yet.', details: [{ reason }] } }]
      : [200, { status: path === '/readyz' ? 'ready' : 'ok' }];
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  }
}
