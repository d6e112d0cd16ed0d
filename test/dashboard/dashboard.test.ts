/**
 * `npm run dashboard` as a process: /metrics with the queue-level view from Redis (exact queue depths
 * and workloads by status, exported once however many worker processes run), the live feed, the live
 * page's files and bull-board.
 */
import { startProducerHarness, type ProducerHarness } from '../utils/producer-harness';
import { startRole, type RoleProcess } from '../utils/role-process';
import { eventually } from '../utils/chunkmill-harness';
import { samplesOf, scrape, sumOf, type Sample } from '../utils/prometheus-text';
import { testRedisUrl, uniquePrefix } from '../utils/redis';

describe('dashboard', () => {
  const prefix = uniquePrefix('dashboard');
  const env = { REDIS_URL: testRedisUrl(), CHUNKMILL_PREFIX: prefix, HOST: '127.0.0.1', DASHBOARD_PORT: '0' };
  let dashboard: RoleProcess;
  let worker: RoleProcess | undefined;
  let producer: ProducerHarness;
  let base: string;
  const metrics = (): Promise<Sample[]> => scrape(`${base}/metrics`);

  beforeAll(async () => {
    producer = await startProducerHarness('dashboard', { CHUNKMILL_PREFIX: prefix });
    const started = await startRole('dashboard', { env });
    dashboard = started.process;
    base = `http://127.0.0.1:${started.port}`;
  });
  afterAll(async () => {
    await worker?.stop('SIGTERM');
    await dashboard?.stop('SIGTERM');
    await producer?.close();
  });

  it('exports queue depths and workloads by status from Redis, exactly once', async () => {
    // No worker yet: every chunk waits.
    const id = await producer.api.submit({ type: 'compute', task: 'sleep', inputs: new Array(5).fill({ ms: 20 }), chunkSize: 1 });
    let samples: Sample[] = [];
    await eventually(async () => sumOf((samples = await metrics()), 'chunkmill_queue_jobs', { queue: 'compute', state: 'waiting' }) === 5, 10_000, 200);
    expect(samplesOf(samples, 'chunkmill_queue_jobs')).toHaveLength(10); // 2 queues × 5 states
    expect(sumOf(samples, 'chunkmill_workloads', { status: 'queued' })).toBe(1);
    expect(sumOf(samples, 'chunkmill_process_cpu_seconds_total')).toBeGreaterThan(0);

    // Two worker processes drain the queue: the depth is the queue's, not multiplied by the processes.
    worker = (await startRole('worker', { env: { ...env, WORKER_PROCESSES: '2', WORKER_THREADS: '1', WORKER_METRICS_PORT: '0' } })).process;
    expect((await producer.api.results(id)).status).toBe('completed');
    // Read at scrape time with a cache of a second: wait for a read after the end.
    await eventually(
      async () => {
        samples = await metrics();
        return sumOf(samples, 'chunkmill_workloads', { status: 'completed' }) === 1 && sumOf(samples, 'chunkmill_queue_jobs', { state: 'waiting' }) === 0;
      },
      10_000,
      200,
    );
    expect(sumOf(samples, 'chunkmill_queue_jobs', { queue: 'compute', state: 'active' })).toBe(0);
    expect(sumOf(samples, 'chunkmill_workloads', { status: 'queued' })).toBe(0);
  });

  it('streams the live feed: the history, then a tick per second', async () => {
    const controller = new AbortController();
    const response = await fetch(`${base}/api/live`, { signal: controller.signal });
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const reader = response.body!.getReader();
    const events: Array<{ event?: string; data: any }> = [];
    let pending = '';
    // The feed samples once a second: read until a tick shows the finished workload.
    while (!events.some((event) => event.event === 'tick' && event.data.workloads[0]?.status === 'completed')) {
      pending += new TextDecoder().decode((await reader.read()).value);
      const blocks = pending.split('\n\n');
      pending = blocks.pop() ?? '';
      for (const block of blocks) {
        events.push({ event: /event: (\w+)/.exec(block)?.[1], data: JSON.parse(/data: (.*)/.exec(block)?.[1] ?? 'null') });
      }
    }
    controller.abort();
    expect(events[0].event).toBe('snapshot');
    expect(events[0].data.points.length).toBeGreaterThan(0);
    const last = events[events.length - 1].data;
    expect(last.workloads[0]).toMatchObject({ status: 'completed', total: 5, completed: 5 });
    expect(last.queues.compute).toEqual({ waiting: 0, active: 0, delayed: 0, failed: 0, completed: 0 });
    expect(last.point).toEqual({ t: expect.any(Number), compute: expect.any(Number), fetch: expect.any(Number) });
  });

  it('serves the live page with uPlot, and bull-board on /queues', async () => {
    const page = await fetch(`${base}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('vendor/uplot/uPlot.iife.min.js');
    expect((await fetch(`${base}/vendor/uplot/uPlot.iife.min.js`)).status).toBe(200);
    expect((await fetch(`${base}/live.js`)).status).toBe(200);
    const board = await fetch(`${base}/queues`);
    expect(board.status).toBe(200);
    expect(await board.text()).toContain('<html');
    const boardQueues = (await (await fetch(`${base}/queues/api/queues`)).json()) as { queues: Array<{ displayName: string }> };
    expect(boardQueues.queues.map((queue) => queue.displayName).sort()).toEqual(['compute', 'fetch']);
  });
});
