/**
 * A worker host's /metrics (WORKER_METRICS_PORT) with two cluster processes: after a workload, the
 * counters equal the items and chunks actually processed (no process counted twice, none missing),
 * gauges use the right aggregation, every series carries the host's WORKER_ID, and a re-forked process
 * does not make the counters go down. A graceful stop: the chunks handed back are counted in the final
 * scrape the host waits for after its processes exited, and logged at info level.
 */
import { startChunkmill, eventually, type ChunkmillHarness } from '../utils/chunkmill-harness';
import { samplesOf, scrape, sumOf, type Sample } from '../utils/prometheus-text';

describe('worker host /metrics', () => {
  let chunkmill: ChunkmillHarness;
  let metricsUrl: string;
  const read = (): Promise<Sample[]> => scrape(metricsUrl);

  beforeAll(async () => {
    chunkmill = await startChunkmill('worker-metrics', { workerEnv: { WORKER_ID: 'host-a', WORKER_METRICS_FINAL_SCRAPE_MS: '0' } });
    const listening = await chunkmill.worker.waitForLog((line) => line.msg === 'worker metrics listening');
    metricsUrl = `http://127.0.0.1:${Number(listening.port)}/metrics`;
  });
  afterAll(async () => chunkmill.close());

  it('reports both processes and their threads, added up once', async () => {
    const samples = await read();
    expect(sumOf(samples, 'chunkmill_worker_processes')).toBe(2);
    expect(sumOf(samples, 'chunkmill_worker_threads')).toBe(2);
    const utilization = sumOf(samples, 'chunkmill_thread_pool_utilization');
    expect(utilization).toBeGreaterThanOrEqual(0);
    expect(utilization).toBeLessThanOrEqual(1);
    // One series per metric, not one per process.
    expect(samplesOf(samples, 'chunkmill_worker_processes')).toHaveLength(1);
    expect(samplesOf(samples, 'chunkmill_nodejs_eventloop_lag_seconds')).toHaveLength(1);
    expect(sumOf(samples, 'chunkmill_process_cpu_seconds_total')).toBeGreaterThan(0);
    expect(sumOf(samples, 'chunkmill_process_resident_memory_bytes')).toBeGreaterThan(0);
    // Queue-level facts are the dashboard's: a worker host never exports them (no multiplication).
    expect(samplesOf(samples, 'chunkmill_queue_jobs')).toEqual([]);
    expect(samplesOf(samples, 'chunkmill_workloads')).toEqual([]);
  });

  it('labels every series with the worker id (WORKER_ID), the one GET /v1/workers shows', async () => {
    const samples = await read();
    expect(samples.length).toBeGreaterThan(100);
    expect(samples.filter((sample) => sample.labels.worker_id !== 'host-a')).toEqual([]);
    // The primary's own series and the children's alike.
    expect(samplesOf(samples, 'chunkmill_worker_process_exits_total')[0].labels).toEqual({ worker_id: 'host-a' });
    expect(samplesOf(samples, 'chunkmill_chunks_handed_back_total').map((sample) => sample.labels)).toEqual(
      expect.arrayContaining([{ queue: 'compute', reason: 'shutdown', worker_id: 'host-a' }]),
    );
    await eventually(async () => (await chunkmill.api.get('/v1/workers')).body.workers.length === 1);
    expect((await chunkmill.api.get('/v1/workers')).body.workers[0].id).toBe('host-a');
  });

  it('counts exactly the items and chunks processed, by task and outcome', async () => {
    const items = 12;
    const id = await chunkmill.api.submit({ type: 'compute', task: 'sleep', inputs: new Array(items).fill({ ms: 100 }), chunkSize: 1 });
    expect((await chunkmill.api.results(id)).status).toBe('completed');
    const samples = await read();
    const labels = { queue: 'compute', task: 'sleep' };
    expect(sumOf(samples, 'chunkmill_items_total', { ...labels, outcome: 'succeeded' })).toBe(items);
    expect(sumOf(samples, 'chunkmill_items_total', labels)).toBe(items);
    expect(sumOf(samples, 'chunkmill_chunks_total', { ...labels, outcome: 'completed' })).toBe(items);
    expect(sumOf(samples, 'chunkmill_chunk_run_seconds_count', labels)).toBe(items);
    expect(sumOf(samples, 'chunkmill_queue_wait_seconds_count', labels)).toBe(items);
    expect(sumOf(samples, 'chunkmill_item_run_seconds_count', labels)).toBe(items);
    // The threads' own timings, recorded by the processes that ran them.
    expect(sumOf(samples, 'chunkmill_thread_busy_seconds_total')).toBeGreaterThanOrEqual(items * 0.1 * 0.9);
    expect(sumOf(samples, 'chunkmill_active_chunks')).toBe(0);
    expect(sumOf(samples, 'chunkmill_worker_threads_busy')).toBe(0);
  });

  it('tells a retried item from one that failed for good', async () => {
    const id = await chunkmill.api.submit({ type: 'compute', task: 'throwsOn', inputs: [1, -2], chunkSize: 2, attempts: 2 });
    expect((await chunkmill.api.results(id)).status).toBe('failed');
    const samples = await read();
    const labels = { queue: 'compute', task: 'throwsOn' };
    expect(sumOf(samples, 'chunkmill_items_total', { ...labels, outcome: 'succeeded' })).toBe(1);
    expect(sumOf(samples, 'chunkmill_items_total', { ...labels, outcome: 'retried' })).toBe(1);
    expect(sumOf(samples, 'chunkmill_items_total', { ...labels, outcome: 'failed' })).toBe(1);
    expect(sumOf(samples, 'chunkmill_chunks_total', { ...labels, outcome: 'failed' })).toBe(1);
    expect(sumOf(samples, 'chunkmill_chunks_total', { ...labels, outcome: 'completed' })).toBe(1);
  });

  it('keeps the counts of a process that died: counters never go down', async () => {
    const before = sumOf(await read(), 'chunkmill_items_total');
    const forked = chunkmill.worker.lines.filter((line) => line.msg === 'worker process forked');
    process.kill(Number(forked[0].childPid), 'SIGKILL');
    await chunkmill.worker.waitForLog((line) => line.msg === 'worker process ready', 20_000, 3);
    let samples: Sample[] = [];
    await eventually(async () => sumOf((samples = await read()), 'chunkmill_worker_processes') === 2, 10_000, 200);
    expect(sumOf(samples, 'chunkmill_items_total')).toBe(before);
    expect(sumOf(samples, 'chunkmill_worker_process_exits_total')).toBe(1);
    expect(samples.filter((sample) => sample.labels.worker_id !== 'host-a')).toEqual([]);

    const id = await chunkmill.api.submit({ type: 'compute', task: 'sleep', inputs: new Array(4).fill({ ms: 10 }), chunkSize: 1 });
    expect((await chunkmill.api.results(id)).status).toBe('completed');
    expect(sumOf(await read(), 'chunkmill_items_total')).toBe(before + 4);
  });
});

describe('worker host /metrics when the host stops', () => {
  let chunkmill: ChunkmillHarness;
  afterAll(async () => chunkmill?.close());

  it('counts the chunks handed back in a final scrape after its processes exited, and logs them', async () => {
    chunkmill = await startChunkmill('worker-metrics-stop', {
      workerEnv: { WORKER_ID: 'host-b', WORKER_PROCESSES: '1', SHUTDOWN_GRACE_MS: '300', WORKER_METRICS_FINAL_SCRAPE_MS: '20000' },
    });
    const { worker } = chunkmill;
    const listening = await worker.waitForLog((line) => line.msg === 'worker metrics listening');
    const read = (): Promise<Sample[]> => scrape(`http://127.0.0.1:${Number(listening.port)}/metrics`);
    const id = await chunkmill.api.submit({ type: 'compute', task: 'sleep', inputs: [{ ms: 60_000 }], chunkSize: 1 });
    // Running, and scraped at least once (a host nobody scrapes does not wait for a final scrape).
    await eventually(async () => sumOf(await read(), 'chunkmill_active_chunks') === 1, 15_000, 100);

    worker.signalGroup('SIGTERM');
    const handedBack = await worker.waitForLog((line) => line.msg === 'chunk handed back to the queue', 15_000);
    expect(handedBack).toMatchObject({ level: 30, queue: 'compute', workloadId: id, chunk: 0, reason: 'shutdown' });

    // The host is still up, its process gone: a scrape now is the final one, with the hand-back in it.
    let samples: Sample[] = [];
    await eventually(async () => sumOf((samples = await read()), 'chunkmill_worker_processes') === 0, 15_000, 100);
    expect(sumOf(samples, 'chunkmill_chunks_handed_back_total', { queue: 'compute', reason: 'shutdown', worker_id: 'host-b' })).toBe(1);
    expect(sumOf(samples, 'chunkmill_chunks_total', { queue: 'compute', task: 'sleep', outcome: 'handed_back' })).toBe(1);
    expect(sumOf(samples, 'chunkmill_worker_process_exits_total')).toBe(1);
    // A scrape after the processes exited ends the wait: the host exits then, not after WORKER_METRICS_FINAL_SCRAPE_MS.
    // (Scraped until then: the one above may have begun just before the host started waiting for it.)
    const finalScraped = worker.waitForLog((line) => line.msg === 'final metrics scraped', 5_000);
    const keepScraping = setInterval(() => void read().catch(() => undefined), 200);
    try {
      await finalScraped;
    } finally {
      clearInterval(keepScraping);
    }
    expect(await Promise.race([worker.exited, new Promise((resolve) => setTimeout(() => resolve('still running'), 5_000))])).toEqual({ code: 0, signal: null });
  });
});
