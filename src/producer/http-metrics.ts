/**
 * The producer's `/metrics`: every request it answers (`chunkmill_http_requests_total` and
 * `chunkmill_http_request_duration_seconds`, by method, route pattern and status), the submissions it
 * accepted or refused (`chunkmill_submissions_total`), and its process (`chunkmill_process_*`,
 * `chunkmill_nodejs_*`). See core/metrics.ts for the names.
 *
 * `route` is the Express route pattern that answered (`/v1/workloads/:id`), never the URL asked for:
 * `<mount>/*` for a request refused under a mount before any route took it (a 401 or 429 under /v1, an
 * unknown path there), `unmatched` for one no route answered elsewhere (a 404, the /docs assets).
 * `status` is the code answered; 499 when the client went away before an answer began.
 *
 * Who may read it, as on the dashboard: METRICS_TOKEN (what Prometheus sends) or an admin token; anyone
 * when no token at all is configured.
 */
import { timingSafeEqual } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import { Registry } from 'prom-client';
import { ForbiddenError, UnauthorizedError } from '../core/errors';
import { processMetrics, producerMetrics, SUBMISSION_OUTCOMES, SUBMISSION_TYPES, type ProducerMetrics, type SubmissionOutcome } from '../core/metrics';
import { tokenDigest, type TokenEntry } from '../core/tenants';
import { bearerToken, TokenTable } from '../core/token-table';

export interface HttpMetricsOptions {
  tokens: TokenEntry[];
  /** @defaultValue none: admins only (everyone, when no token is configured at all) */
  metricsToken?: string;
}

/** Where `mounted` keeps the mount path a request went through. */
const MOUNT = 'metricsMount';
const SUBMIT_ROUTE = '/v1/workloads';

export class HttpMetrics {
  readonly registry = new Registry();
  private readonly metrics: ProducerMetrics;
  private readonly tokens: TokenTable;
  private readonly metricsDigest?: Buffer;

  constructor(options: HttpMetricsOptions) {
    processMetrics(this.registry);
    this.metrics = producerMetrics(this.registry);
    for (const type of SUBMISSION_TYPES) for (const outcome of SUBMISSION_OUTCOMES) this.metrics.submissions.inc({ type, outcome }, 0);
    this.tokens = new TokenTable(options.tokens);
    this.metricsDigest = options.metricsToken === undefined ? undefined : tokenDigest(options.metricsToken);
  }

  /** First in the app: times every request and counts it once its answer is over (or the client gone). */
  track: RequestHandler = (req, res, next) => {
    const started = process.hrtime.bigint();
    res.once('close', () => this.record(req, res, Number(process.hrtime.bigint() - started) / 1e9));
    next();
  };

  /** First handler under a mount path (`app.use('/v1', metrics.mounted, ...)`): its routes are labelled with it. */
  mounted: RequestHandler = (req, res, next) => {
    res.locals[MOUNT] = req.baseUrl;
    next();
  };

  /** METRICS_TOKEN or an admin token; anyone when no token is configured at all. */
  requireReader: RequestHandler = (req, _res, next) => {
    const token = bearerToken(req.get('authorization'));
    if (token !== undefined && this.metricsDigest !== undefined && timingSafeEqual(tokenDigest(token), this.metricsDigest)) return next();
    if (this.tokens.open && this.metricsDigest === undefined) return next();
    if (token === undefined) return next(new UnauthorizedError('/metrics needs METRICS_TOKEN (or an admin token) as a bearer token.'));
    const entry = this.tokens.find(token);
    if (!entry) return next(new UnauthorizedError('/metrics needs METRICS_TOKEN or an admin token; this one is neither.', 'invalid_token'));
    if (!entry.admin) return next(new ForbiddenError('/metrics needs METRICS_TOKEN or an admin token.'));
    next();
  };

  serve: RequestHandler = async (_req, res) => {
    res.type(this.registry.contentType).send(await this.registry.metrics());
  };

  private record(req: Request, res: Response, seconds: number): void {
    const mount = typeof res.locals[MOUNT] === 'string' ? (res.locals[MOUNT] as string) : '';
    const routePath = (req.route as { path?: unknown } | undefined)?.path;
    const route = typeof routePath === 'string' ? `${mount}${routePath}` : mount ? `${mount}/*` : 'unmatched';
    const status = res.headersSent ? res.statusCode : 499;
    const labels = { method: req.method, route, status: String(status) };
    this.metrics.requests.inc(labels);
    this.metrics.requestSeconds.observe(labels, seconds);
    if (route === SUBMIT_ROUTE && req.method === 'POST') {
      const type = (req.body as { type?: unknown } | undefined)?.type;
      this.metrics.submissions.inc({ type: type === 'compute' || type === 'fetch' ? type : 'invalid', outcome: submissionOutcome(status) });
    }
  }
}

function submissionOutcome(status: number): SubmissionOutcome {
  if (status === 202) return 'accepted';
  if (status < 400) return 'repeated';
  return status < 500 ? 'rejected' : 'failed';
}
