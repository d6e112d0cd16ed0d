/**
 * `/docs` in a real browser (Debian's Chromium through playwright-core): Swagger UI renders the
 * document's operations and shows no error or warning box (Swagger UI warns of a `jsonSchemaDialect`
 * field, so the document has none), and the page logs no error.
 */
import type { Browser } from 'playwright-core';
import { launchChromium } from '../utils/chromium';
import { startProducerHarness, type ProducerHarness } from '../utils/producer-harness';

describe('the API reference page (/docs)', () => {
  let producer: ProducerHarness;
  let browser: Browser;

  beforeAll(async () => {
    producer = await startProducerHarness('api-docs-page');
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await producer?.close();
  });

  it('lists every operation and shows no error or warning', async () => {
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    const problems: string[] = [];
    page.on('console', (message) => {
      // A failed load is reported below with its URL.
      if ((message.type() === 'error' || message.type() === 'warning') && !message.text().startsWith('Failed to load resource')) {
        problems.push(`console ${message.type()}: ${message.text()}`);
      }
    });
    page.on('response', (response) => {
      if (response.status() >= 400) problems.push(`${response.status()} for ${response.url()}`);
    });
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    // Nothing but the producer: a request elsewhere (an online validator, a CDN) is a failure here.
    page.on('request', (request) => {
      if (!request.url().startsWith(producer.api.baseUrl)) problems.push(`request elsewhere: ${request.url()}`);
    });
    await page.goto(`${producer.api.baseUrl}/docs`);
    await page.waitForSelector('.opblock-summary', { timeout: 20_000 });
    // Give Swagger UI's validation a moment to report what it finds.
    await page.waitForTimeout(1000);

    const document = (await producer.api.get('/openapi.json')).body as { paths: Record<string, Record<string, unknown>> };
    const operationCount = Object.values(document.paths).reduce((count, methods) => count + Object.keys(methods).length, 0);
    const operations = await page.$$eval('.opblock-summary', (blocks) => blocks.map((block) => block.textContent ?? ''));
    expect(operations).toHaveLength(operationCount);
    expect(operations.join('\n')).toContain('/v1/workloads/{id}/results');

    const errorBoxes = await page.$$eval('.errors-wrapper, .errors, .validation-errors, .version-pragma, .info .error', (boxes) =>
      boxes.map((box) => (box.textContent ?? '').trim()),
    );
    expect(errorBoxes).toEqual([]);
    expect(problems).toEqual([]);
    await page.close();
  });
});
