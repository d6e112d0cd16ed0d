/**
 * The dashboard's sign-in in a real browser (Debian's Chromium through playwright-core), with two
 * tenants: signed out, every page leads to the sign-in page; signed in as tenant A, the live page lists
 * A's workloads and not B's, under an HttpOnly, SameSite=Strict cookie, with no token in any URL.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium } from '../utils/chromium';
import { ApiClient } from '../utils/api-client';
import { startProducerHarness, type ProducerHarness } from '../utils/producer-harness';
import { startRole, type RoleProcess } from '../utils/role-process';
import { testRedisUrl, uniquePrefix } from '../utils/redis';

const TOKENS = { a: 'tenant-a-token-83f1c2d4e5', b: 'tenant-b-token-47a9b0c1d2' };

describe('dashboard sign-in (Chromium)', () => {
  const prefix = uniquePrefix('sign-in');
  const tokenEnv = { API_TOKENS: `tenant-a:${TOKENS.a},tenant-b:${TOKENS.b}` };
  let producer: ProducerHarness;
  let dashboard: RoleProcess;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let base: string;
  const ids = { a: '', b: '' };
  const urls: string[] = [];

  beforeAll(async () => {
    producer = await startProducerHarness('sign-in', { CHUNKMILL_PREFIX: prefix, ...tokenEnv });
    ids.a = await new ApiClient(producer.api.baseUrl, TOKENS.a).submit({ type: 'compute', task: 'sumSquares', inputs: [1, 2, 3] });
    ids.b = await new ApiClient(producer.api.baseUrl, TOKENS.b).submit({ type: 'compute', task: 'sumSquares', inputs: [4, 5] });
    const started = await startRole('dashboard', {
      env: { REDIS_URL: testRedisUrl(), CHUNKMILL_PREFIX: prefix, HOST: '127.0.0.1', DASHBOARD_PORT: '0', ...tokenEnv },
    });
    dashboard = started.process;
    base = `http://127.0.0.1:${started.port}`;
    browser = await launchChromium();
    context = await browser.newContext();
    page = await context.newPage();
    page.on('request', (request) => urls.push(request.url()));
  });
  afterAll(async () => {
    await browser?.close();
    await dashboard?.stop('SIGTERM');
    await producer?.close();
  });

  it('signed out: the live page and bull-board lead to the sign-in page', async () => {
    for (const path of ['/', '/queues']) {
      await page.goto(`${base}${path}`);
      expect(new URL(page.url()).pathname).toBe('/signin');
      await page.waitForSelector('form#sign-in input[name="token"][type="password"]');
    }
  });

  it('a wrong token stays on the sign-in page with a message', async () => {
    await page.fill('input[name="token"]', 'not-a-token');
    await page.click('button[type="submit"]');
    await page.waitForSelector('.problem');
    expect(await page.textContent('.problem')).toBe('That token is not valid.');
  });

  it("signed in as tenant A: A's workloads, not B's; the cookie is HttpOnly and SameSite=Strict; no token in a URL", async () => {
    await page.fill('input[name="token"]', TOKENS.a);
    await page.click('button[type="submit"]');
    await page.waitForSelector('#connection.live');
    expect(new URL(page.url()).pathname).toBe('/');
    await page.waitForSelector(`li[data-workload-id="${ids.a}"]`, { timeout: 10_000 });
    expect(await page.$(`li[data-workload-id="${ids.b}"]`)).toBeNull();
    expect(await page.$$eval('#workloads li', (items) => items.length)).toBe(1);
    expect(await page.textContent('#viewer')).toBe('signed in as tenant-a');
    // A tenant gets no links to the admins' pages.
    expect(await page.isVisible('nav .admin-only')).toBe(false);

    const cookies = await context.cookies(base);
    expect(cookies).toEqual([expect.objectContaining({ name: 'chunkmill_session', httpOnly: true, sameSite: 'Strict' })]);
    expect(cookies[0].value).not.toContain(TOKENS.a);
    // The page's scripts cannot read the cookie.
    expect(await page.evaluate('document.cookie')).toBe('');
    expect(urls.filter((url) => url.includes(TOKENS.a) || url.includes('token='))).toEqual([]);
  });

  it('signing out goes back to the sign-in page, and the live page needs a sign-in again', async () => {
    await page.click('#sign-out button');
    await page.waitForSelector('form#sign-in');
    await page.goto(`${base}/`);
    expect(new URL(page.url()).pathname).toBe('/signin');
  });
});
