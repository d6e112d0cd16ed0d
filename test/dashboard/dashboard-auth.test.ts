/**
 * The dashboard behind the API's identity, as processes: with tokens configured every route but
 * /healthz and /signin needs one (a bearer token, or the session cookie of a sign-in). Anonymous → 401 or
 * the sign-in page; a tenant → its own workloads, no bull-board, no /metrics; an admin → everything,
 * bull-board read-only unless DASHBOARD_QUEUE_ADMIN=true; /metrics with METRICS_TOKEN. No token ever
 * shows in a URL, a cookie, Redis or a log line.
 */
import { Redis } from 'ioredis';
import { startProducerHarness, type ProducerHarness } from '../utils/producer-harness';
import { startRole, type RoleProcess } from '../utils/role-process';
import { ApiClient } from '../utils/api-client';
import { eventually } from '../utils/chunkmill-harness';
import { testRedisUrl, uniquePrefix } from '../utils/redis';

const TOKENS = { alice: 'dash-alice-5e1b7c9d', bob: 'dash-bob-2a4c6e8f', root: 'dash-root-9f7d5b3a', metrics: 'dash-metrics-1c3e5a7b' };
const notebook = { type: 'compute', task: 'sumSquares', inputs: [1, 2], chunkSize: 1 };

type Who = 'anonymous' | 'wrong' | 'alice' | 'bob' | 'root' | 'metrics';

describe('dashboard behind tokens', () => {
  const prefix = uniquePrefix('dashboard-auth');
  const env = {
    REDIS_URL: testRedisUrl(),
    CHUNKMILL_PREFIX: prefix,
    HOST: '127.0.0.1',
    DASHBOARD_PORT: '0',
    API_TOKENS: `alice:${TOKENS.alice},bob:${TOKENS.bob}`,
    ADMIN_TOKENS: `root:${TOKENS.root}`,
    METRICS_TOKEN: TOKENS.metrics,
  };
  let producer: ProducerHarness;
  let readOnly: RoleProcess;
  let writable: RoleProcess;
  let base: string;
  let writableBase: string;
  let redis: Redis;
  const ids: Record<'alice' | 'bob', string> = { alice: '', bob: '' };

  beforeAll(async () => {
    producer = await startProducerHarness('dashboard-auth', { CHUNKMILL_PREFIX: prefix, API_TOKENS: env.API_TOKENS, ADMIN_TOKENS: env.ADMIN_TOKENS });
    ids.alice = await new ApiClient(producer.api.baseUrl, TOKENS.alice).submit(notebook);
    ids.bob = await new ApiClient(producer.api.baseUrl, TOKENS.bob).submit(notebook);
    const [first, second] = await Promise.all([startRole('dashboard', { env }), startRole('dashboard', { env: { ...env, DASHBOARD_QUEUE_ADMIN: 'true' } })]);
    readOnly = first.process;
    writable = second.process;
    base = `http://127.0.0.1:${first.port}`;
    writableBase = `http://127.0.0.1:${second.port}`;
    redis = new Redis(testRedisUrl());
  });
  afterAll(async () => {
    redis?.disconnect();
    await readOnly?.stop('SIGTERM');
    await writable?.stop('SIGTERM');
    await producer?.close();
  });

  const headersOf = (who: Who, extra: Record<string, string> = {}): Record<string, string> => {
    const token = who === 'anonymous' ? undefined : who === 'wrong' ? 'no-such-token' : TOKENS[who];
    return { ...(token ? { authorization: `Bearer ${token}` } : {}), ...extra };
  };
  const get = (who: Who, path: string, extra: Record<string, string> = {}, at = base) =>
    fetch(`${at}${path}`, { headers: headersOf(who, extra), redirect: 'manual' });

  /** The workload ids an overview answer lists (the live feed samples once a second). */
  async function overviewIds(init: RequestInit): Promise<string[]> {
    const answer = await fetch(`${base}/api/overview`, init);
    expect(answer.status).toBe(200);
    return ((await answer.json()) as { workloads: Array<{ id: string }> }).workloads.map((workload) => workload.id);
  }

  it('the matrix: anonymous, a wrong token, two tenants, an admin and the metrics token on every route', async () => {
    await eventually(async () => (await overviewIds({ headers: headersOf('root') })).length === 2, 10_000, 200);
    const routes = ['/', '/live.js', '/api/overview', '/queues', '/queues/api/queues', '/metrics', '/healthz', '/signin'];
    const expected: Record<Who, number[]> = {
      anonymous: [401, 401, 401, 401, 401, 401, 200, 200],
      wrong: [401, 401, 401, 401, 401, 401, 200, 200],
      alice: [200, 200, 200, 403, 403, 403, 200, 200],
      bob: [200, 200, 200, 403, 403, 403, 200, 200],
      root: [200, 200, 200, 200, 200, 200, 200, 200],
      metrics: [401, 401, 401, 401, 401, 200, 200, 200],
    };
    const seen: Record<string, number[]> = {};
    for (const who of Object.keys(expected) as Who[]) {
      seen[who] = [];
      for (const route of routes) {
        const answer = await get(who, route);
        seen[who].push(answer.status);
        if (answer.status === 401) {
          expect(answer.headers.get('www-authenticate')).toMatch(/^Bearer realm="chunkmill"/);
          expect(((await answer.json()) as { error: { code: string } }).error.code).toBe('UNAUTHORIZED');
        }
        if (answer.status === 403) expect(((await answer.json()) as { error: { code: string } }).error.code).toBe('FORBIDDEN');
      }
    }
    expect(seen).toEqual(expected);

    // A browser without a token is sent to the sign-in page.
    for (const route of ['/', '/queues']) {
      const page = await get('anonymous', route, { accept: 'text/html,application/xhtml+xml' });
      expect([route, page.status, page.headers.get('location')]).toEqual([route, 303, '/signin']);
    }

    // Each tenant's live view holds its own workloads; the admin's all.
    expect(await overviewIds({ headers: headersOf('alice') })).toEqual([ids.alice]);
    expect(await overviewIds({ headers: headersOf('bob') })).toEqual([ids.bob]);
    expect((await overviewIds({ headers: headersOf('root') })).sort()).toEqual([ids.alice, ids.bob].sort());
  });

  it('bull-board: read-only for an admin, writable only with DASHBOARD_QUEUE_ADMIN=true, never for a tenant', async () => {
    // bull-board names a queue by its real name, hash tag and all.
    const compute = encodeURIComponent(producer.producer.queues.compute.name);
    const pause = (who: Who, at: string) => fetch(`${at}/queues/api/queues/${compute}/pause`, { method: 'PUT', headers: headersOf(who) });
    expect((await pause('root', base)).status).toBe(403);
    expect((await pause('alice', writableBase)).status).toBe(403);
    expect((await pause('anonymous', writableBase)).status).toBe(401);
    expect(await producer.producer.queues.compute.isPaused()).toBe(false);
    expect((await pause('root', writableBase)).status).toBe(200);
    expect(await producer.producer.queues.compute.isPaused()).toBe(true);
    expect((await fetch(`${writableBase}/queues/api/queues/${compute}/resume`, { method: 'PUT', headers: headersOf('root') })).status).toBe(200);
    // The read-only board tells its UI so (no action buttons).
    const listed = (await (await get('root', '/queues/api/queues')).json()) as { queues: Array<{ readOnlyMode: boolean }> };
    expect(listed.queues.map((queue) => queue.readOnlyMode)).toEqual([true, true]);
  });

  it('signs a browser in with an HttpOnly, SameSite=Strict session cookie that holds no token; signs it out', async () => {
    const wrong = await fetch(`${base}/signin`, { method: 'POST', body: new URLSearchParams({ token: 'nope' }), redirect: 'manual' });
    expect(wrong.status).toBe(401);
    expect(await wrong.text()).toContain('That token is not valid.');
    expect(wrong.headers.get('set-cookie')).toBeNull();

    const signIn = await fetch(`${base}/signin`, { method: 'POST', body: new URLSearchParams({ token: TOKENS.alice }), redirect: 'manual' });
    expect(signIn.status).toBe(303);
    expect(signIn.headers.get('location')).toBe('/');
    const setCookie = signIn.headers.get('set-cookie')!;
    expect(setCookie).toMatch(/^chunkmill_session=[A-Za-z0-9_-]{43}; Max-Age=\d+; Path=\/; Expires=.*; HttpOnly; SameSite=Strict$/);
    expect(setCookie).not.toContain(TOKENS.alice);
    const cookie = setCookie.split(';')[0];

    expect(await overviewIds({ headers: { cookie } })).toEqual([ids.alice]);
    expect((await fetch(`${base}/queues/api/queues`, { headers: { cookie } })).status).toBe(403);

    const signOut = await fetch(`${base}/signout`, { method: 'POST', headers: { cookie }, redirect: 'manual' });
    expect([signOut.status, signOut.headers.get('location')]).toEqual([303, '/signin']);
    expect((await fetch(`${base}/api/overview`, { headers: { cookie } })).status).toBe(401);

    // Redis holds digests only; the logs of both dashboards hold no token.
    const keys = await redis.keys(`${prefix}:*`);
    for (const key of keys.filter((k) => k.includes('dashboard-session') || k.includes('ratelimit'))) {
      const value = (await redis.type(key)) === 'string' ? await redis.get(key) : '';
      for (const token of Object.values(TOKENS)) expect(`${key} ${value}`).not.toContain(token);
    }
    for (const line of [...readOnly.output, ...writable.output]) {
      for (const token of Object.values(TOKENS)) expect(line).not.toContain(token);
    }
  });
});
