/**
 * Tracing off, as it is by default: which variables turn it on, that a process without them never
 * loads the OpenTelemetry SDK, and that chunk jobs and their payloads then carry no trace context.
 * (Tracing on, end to end: test/e2e/tracing.test.ts.)
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { Keys } from '../../src/core/keys';
import { currentTraceCarrier, tracingOn, tracingWanted, urlsAsOrigins } from '../../src/core/tracing';
import { chunkJobId } from '../../src/core/workload';
import { startProducerHarness, type ProducerHarness } from '../utils/producer-harness';
import { testRedisUrl } from '../utils/redis';

const ROOT = path.resolve(__dirname, '../..');

describe('tracing variables', () => {
  it.each([
    [{}, false],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }, true],
    [{ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/v1/traces' }, true],
    [{ OTEL_TRACES_EXPORTER: 'otlp' }, true],
    [{ OTEL_TRACES_EXPORTER: 'console' }, true],
    [{ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }, false],
    [{ OTEL_TRACES_EXPORTER: ' none , ' }, false],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_SDK_DISABLED: 'true' }, false],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_SDK_DISABLED: 'false' }, true],
    // As compose passes an unset variable through: empty means off.
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: '', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: ' ', OTEL_TRACES_EXPORTER: '' }, false],
    // Other OTEL_* settings alone turn nothing on.
    [{ OTEL_SERVICE_NAME: 'mine', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }, false],
  ])('%j: %s', (env, wanted) => {
    expect(tracingWanted(env)).toBe(wanted);
  });
});

describe('messages fit for a span', () => {
  it.each([
    ['Redirect loop: https://api.example.com:8443/v1/x?key=secret#frag was already visited', 'Redirect loop: https://api.example.com:8443 was already visited'],
    ['More than 5 redirects (last to http://user:secret@host.test/a?key=secret)', 'More than 5 redirects (last to http://host.test)'],
    ['Redirect to an invalid URL: http://[bad/secret?key=secret', 'Redirect to an invalid URL: http://[bad'],
    ['Redirect to an invalid URL: /relative/path?key=secret', 'Redirect to an invalid URL: /relative/path'],
    [
      '2 of 4 items failed (first: FETCH_NETWORK: http://127.0.0.1:9: ECONNREFUSED)',
      '2 of 4 items failed (first: FETCH_NETWORK: http://127.0.0.1:9: ECONNREFUSED)',
    ],
    ['No URL here', 'No URL here'],
  ])('%s', (message, fit) => {
    expect(urlsAsOrigins(message)).toBe(fit);
  });
});

/** Starts tracing for `role` in a fresh node process (from dist/) with `env`, loads the role's modules, and reports. */
function probe(role: string, env: Record<string, string>): { on: boolean; sdkModules: number } {
  const script = `
    const { startTracing } = require('./dist/src/core/tracing');
    const on = startTracing(${JSON.stringify(role)});
    require('./dist/src/producer/producer');
    require('./dist/src/worker/worker-process');
    const sdkModules = Object.keys(require.cache).filter((file) => /@opentelemetry[\\\\/](sdk-|exporter-|resources)/.test(file)).length;
    process.stdout.write(JSON.stringify({ on, sdkModules }));
    process.exit(0);`;
  const bare = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('OTEL_')));
  return JSON.parse(execFileSync(process.execPath, ['-e', script], { cwd: ROOT, env: { ...bare, ...env }, encoding: 'utf8' }));
}

describe('tracing off', () => {
  it('never loads the SDK in a process without the variables', () => {
    expect(probe('producer', {})).toEqual({ on: false, sdkModules: 0 });
    expect(probe('worker', { OTEL_SDK_DISABLED: 'true', OTEL_TRACES_EXPORTER: 'console' })).toEqual({ on: false, sdkModules: 0 });
    // Roles that make no spans do not load it even when it is on.
    expect(probe('dashboard', { OTEL_TRACES_EXPORTER: 'console' })).toEqual({ on: false, sdkModules: 0 });
    const on = probe('worker', { OTEL_TRACES_EXPORTER: 'console' });
    expect(on.on).toBe(true);
    expect(on.sdkModules).toBeGreaterThan(0);
  });

  describe('chunk jobs', () => {
    let harness: ProducerHarness;
    let redis: Redis;
    beforeAll(async () => {
      harness = await startProducerHarness('tracing-off', { CHUNKS_IN_QUEUE_PER_WORKLOAD: '2' });
      redis = new Redis(testRedisUrl());
    });
    afterAll(async () => {
      redis.disconnect();
      await harness.close();
    });

    it('carry no trace field, in the queue or in the payloads kept for feeding', async () => {
      expect(tracingOn()).toBe(false);
      expect(currentTraceCarrier()).toBeUndefined();
      const id = await harness.api.submit({ type: 'compute', task: 'sumSquares', inputs: [1, 2, 3, 4, 5], chunkSize: 1 });
      const keys = new Keys(harness.prefix);
      const queue = new Queue(keys.queueName('compute'), { connection: redis, prefix: keys.bullPrefix });
      try {
        const job = await queue.getJob(chunkJobId(id, 0));
        expect(job?.data).toMatchObject({ workloadId: id, chunkIndex: 0, windowed: true });
        expect(job?.data).not.toHaveProperty('trace');
      } finally {
        await queue.close();
      }
      const payloads = Object.values(await redis.hgetall(keys.workload(id).chunks));
      expect(payloads).toHaveLength(5);
      for (const payload of payloads) expect(JSON.parse(payload)).not.toHaveProperty('trace');
    });
  });
});
