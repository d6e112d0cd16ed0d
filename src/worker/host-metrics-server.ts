/**
 * The worker host's `/metrics` on WORKER_METRICS_PORT, served by the cluster primary: every process of
 * the host added up (cluster-metrics.ts). Port 0 picks a free port; the port is logged either way.
 * A port already in use turns the endpoint off with an error in the log, not the worker host off:
 * the work matters more than its metrics. The same port answers `/healthz` (alive: at once, from the
 * start) and `/readyz` (200 once the host takes work; 503 with the reason until then), for health checks.
 *
 * When the host stops, `finalScrape` keeps the endpoint up until one more scrape has been answered
 * after the processes exited, so that their last counts reach Prometheus.
 */
import http, { type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { ClusterMetrics } from './cluster-metrics';

export class HostMetricsServer {
  private server?: Server;
  /** Scrapes answered (200) so far. */
  private scrapes = 0;
  /** Called with the start time of each scrape answered. */
  private readonly scraped = new Set<(startedAt: number) => void>();

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

  /**
   * Resolves true once a scrape that started after this call has been answered, false after `timeoutMs`
   * or at once when nobody has scraped this host (nobody to wait for) or the endpoint is off.
   */
  finalScrape(timeoutMs: number): Promise<boolean> {
    if (!this.server || this.scrapes === 0 || timeoutMs <= 0) return Promise.resolve(false);
    const since = Date.now();
    return new Promise<boolean>((resolve) => {
      const finish = (answered: boolean): void => {
        clearTimeout(timer);
        this.scraped.delete(onScrape);
        resolve(answered);
      };
      const onScrape = (startedAt: number): void => {
        if (startedAt >= since) finish(true);
      };
      const timer = setTimeout(() => finish(false), timeoutMs);
      this.scraped.add(onScrape);
    });
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
    const startedAt = Date.now();
    try {
      const registry = await this.metrics.aggregated();
      const text = await registry.metrics();
      res.writeHead(200, { 'content-type': registry.contentType });
      // Counted once the answer is written out: the host may stop right after its final scrape.
      res.end(text, () => {
        this.scrapes++;
        for (const onScrape of [...this.scraped]) onScrape(startedAt);
      });
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
