/**
 * Who may see what on the dashboard, with the same tokens as the API (API_TOKENS, ADMIN_TOKENS):
 *
 *   /healthz, /signin          everyone
 *   /metrics                   METRICS_TOKEN (how Prometheus scrapes) or an admin
 *   /queues (bull-board)       admins only, since it shows every tenant's jobs; read-only unless
 *                              DASHBOARD_QUEUE_ADMIN=true (then admins may retry, remove, clean)
 *   everything else            any tenant (the live page shows it its own workloads; an admin all)
 *
 * A program sends `Authorization: Bearer <token>`; a browser signs in on /signin and carries a session
 * cookie (dashboard-sessions.ts). Without a token a browser asking for a page is sent to /signin, anyone
 * else gets 401. Without any token configured the dashboard is open (one open tenant, an admin), except
 * /metrics when METRICS_TOKEN is set, and bull-board stays read-only unless DASHBOARD_QUEUE_ADMIN=true.
 */
import { timingSafeEqual } from 'node:crypto';
import express, { Router, type RequestHandler } from 'express';
import { ForbiddenError, UnauthorizedError } from '../core/errors';
import { identityOf, OPEN_IDENTITY, tokenDigest, type Identity } from '../core/tenants';
import { bearerToken, type TokenTable } from '../core/token-table';
import { cookieValue, SESSION_COOKIE, type DashboardSessions } from './dashboard-sessions';
import { signInPage } from './sign-in-page';

export interface DashboardAuthOptions {
  tokens: TokenTable;
  sessions: DashboardSessions;
  /** @defaultValue none: only admins read /metrics (everyone, when no token is configured at all) */
  metricsToken?: string;
  /** @defaultValue false: bull-board is read-only */
  queueAdmin?: boolean;
}

/** Longest sign-in form accepted: a token and some slack. */
const SIGN_IN_BODY_LIMIT = '4kb';
const SAFE_METHODS = new Set(['GET', 'HEAD']);

export interface DashboardAuth {
  /** Finds who the request is (bearer token or session), into `res.locals.identity`; refuses a wrong bearer token. */
  identify: RequestHandler;
  /** Lets any signed-in tenant through; sends a signed-out browser to the sign-in page. */
  requireViewer: RequestHandler;
  requireMetricsReader: RequestHandler;
  /** Admins only; writes only with DASHBOARD_QUEUE_ADMIN=true. */
  requireQueueAccess: RequestHandler;
  /** Whether bull-board may write for this identity. */
  canWriteQueues(identity: Identity): boolean;
  /** GET/POST /signin and POST /signout. */
  routes: Router;
}

export function dashboardAuth(options: DashboardAuthOptions): DashboardAuth {
  const { tokens, sessions } = options;
  const metricsDigest = options.metricsToken === undefined ? undefined : tokenDigest(options.metricsToken);
  const isMetricsToken = (token: string | undefined): boolean =>
    token !== undefined && metricsDigest !== undefined && timingSafeEqual(tokenDigest(token), metricsDigest);
  const canWriteQueues = (identity: Identity): boolean => identity.admin && options.queueAdmin === true;

  const identify: RequestHandler = async (req, res, next) => {
    try {
      const token = bearerToken(req.get('authorization'));
      if (tokens.open) {
        res.locals.identity = OPEN_IDENTITY;
        if (isMetricsToken(token)) res.locals.metricsReader = true;
        return next();
      }
      if (token !== undefined) {
        const entry = tokens.find(token);
        if (entry) res.locals.identity = { tenant: entry.tenant, admin: entry.admin } satisfies Identity;
        // The metrics token is no identity, but /metrics takes it (requireMetricsReader).
        else if (isMetricsToken(token)) res.locals.metricsReader = true;
        else return next(new UnauthorizedError('The bearer token is not valid.', 'invalid_token'));
        return next();
      }
      const session = cookieValue(req.get('cookie'), SESSION_COOKIE);
      if (session !== undefined) {
        const digest = await sessions.tokenDigest(session);
        const entry = digest && tokens.findDigest(digest);
        if (entry) res.locals.identity = { tenant: entry.tenant, admin: entry.admin } satisfies Identity;
      }
      next();
    } catch (error) {
      next(error);
    }
  };

  const signedIn = (res: { locals: Record<string, unknown> }): boolean => res.locals.identity !== undefined;

  const requireViewer: RequestHandler = (req, res, next) => {
    if (signedIn(res)) return next();
    // A browser opening a page is shown the sign-in page; a program (or a page's own fetch) gets a 401.
    if (SAFE_METHODS.has(req.method) && req.accepts(['json', 'html']) === 'html' && !res.locals.metricsReader) return res.redirect(303, '/signin');
    next(new UnauthorizedError());
  };

  const requireMetricsReader: RequestHandler = (_req, res, next) => {
    if (res.locals.metricsReader === true) return next();
    const needsToken = new UnauthorizedError('/metrics needs METRICS_TOKEN (or an admin token) as a bearer token.');
    if (tokens.open) return metricsDigest === undefined ? next() : next(needsToken);
    if (!signedIn(res)) return next(needsToken);
    if (identityOf(res).admin) return next();
    next(new ForbiddenError('/metrics needs METRICS_TOKEN or an admin token.'));
  };

  const requireQueueAccess: RequestHandler = (req, res, next) => {
    const identity = identityOf(res);
    if (!identity.admin) return next(new ForbiddenError("The queue view shows every tenant's jobs: it needs an admin token."));
    if (!SAFE_METHODS.has(req.method) && !canWriteQueues(identity)) {
      return next(new ForbiddenError('The queue view is read-only: changing jobs needs an admin token and DASHBOARD_QUEUE_ADMIN=true.'));
    }
    next();
  };

  const routes = Router();
  const form = express.urlencoded({ extended: false, limit: SIGN_IN_BODY_LIMIT });
  const page = (res: express.Response, status: number, problem?: string): void => {
    res.status(status).type('html').set('Cache-Control', 'no-store').send(signInPage(problem));
  };
  routes.get('/signin', (_req, res) => page(res, 200));
  routes.post('/signin', form, async (req, res) => {
    const token = typeof req.body?.token === 'string' ? req.body.token.trim() : '';
    const entry = token === '' ? undefined : tokens.find(token);
    if (!entry) return page(res, 401, 'That token is not valid.');
    const session = await sessions.create(token);
    res.cookie(SESSION_COOKIE, session, {
      httpOnly: true,
      sameSite: 'strict',
      // Secure whenever the dashboard is reached over TLS (directly, or behind a proxy Express trusts).
      secure: req.secure,
      path: '/',
      maxAge: sessions.ttlSeconds * 1000,
    });
    res.redirect(303, '/');
  });
  routes.post('/signout', async (req, res) => {
    const session = cookieValue(req.get('cookie'), SESSION_COOKIE);
    if (session !== undefined) await sessions.remove(session);
    res.clearCookie(SESSION_COOKIE, { httpOnly: true, sameSite: 'strict', path: '/' });
    res.redirect(303, '/signin');
  });

  return { identify, requireViewer, requireMetricsReader, requireQueueAccess, canWriteQueues, routes };
}
