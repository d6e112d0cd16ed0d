/**
 * The live page in a real browser (Debian's Chromium through playwright-core) while a workload runs:
 * the throughput chart gains points and the workload's progress bar moves. The screenshot is kept in
 * test-artifacts/ and docs/ (the README shows it).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../utils/chromium';
import { startChunkmill, eventually, type ChunkmillHarness } from '../utils/chunkmill-harness';
import { startRole, type RoleProcess } from '../utils/role-process';
import { testRedisUrl } from '../utils/redis';

const ROOT = path.resolve(__dirname, '../..');

describe('the live page', () => {
  let chunkmill: ChunkmillHarness;
  let dashboard: RoleProcess;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    chunkmill = await startChunkmill('live-page');
    const started = await startRole('dashboard', {
      env: { REDIS_URL: testRedisUrl(), CHUNKMILL_PREFIX: chunkmill.prefix, HOST: '127.0.0.1', DASHBOARD_PORT: '0' },
    });
    dashboard = started.process;
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
    await page.goto(`http://127.0.0.1:${started.port}/`);
  });
  afterAll(async () => {
    await browser?.close();
    await dashboard?.stop('SIGTERM');
    await chunkmill?.close();
  });

  const chartPoints = async (): Promise<number> => Number(await page.getAttribute('#throughput', 'data-points'));

  it('shows throughput and a moving progress bar while a workload runs', async () => {
    await page.waitForSelector('#throughput canvas');
    await page.waitForSelector('#connection.live');
    // Two processes with one thread each: 30 × 300 ms takes about 4.5 s.
    const id = await chunkmill.api.submit({ type: 'compute', task: 'sleep', inputs: new Array(30).fill({ ms: 300 }), chunkSize: 1 });
    const bar = `li[data-workload-id="${id}"] progress`;
    await page.waitForSelector(bar, { timeout: 10_000 });
    const progress = async (): Promise<number> => page.$eval(bar, (element) => Number((element as unknown as { value: number }).value));

    let firstProgress = 0;
    await eventually(async () => (firstProgress = await progress()) > 0, 10_000, 100);
    expect(firstProgress).toBeLessThan(30);
    const pointsThen = await chartPoints();
    await eventually(async () => (await progress()) > firstProgress && (await chartPoints()) > pointsThen, 10_000, 100);

    // A screenshot mid-run, with throughput on the chart and the bar part-way.
    await page.waitForTimeout(1_500);
    const screenshot = await page.screenshot({ fullPage: true });
    for (const file of ['test-artifacts/live-page.png', 'docs/live-page.png']) {
      fs.mkdirSync(path.dirname(path.join(ROOT, file)), { recursive: true });
      fs.writeFileSync(path.join(ROOT, file), screenshot);
    }

    expect((await chunkmill.api.results(id)).status).toBe('completed');
    await eventually(async () => (await progress()) === 30, 10_000, 100);
    const row = await page.textContent(`li[data-workload-id="${id}"] .count`);
    expect(row).toContain('30/30 completed');
  });
});
