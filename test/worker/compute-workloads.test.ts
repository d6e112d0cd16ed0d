/**
 * Compute workloads through real worker processes (2 cluster children, 1 thread each), end to end:
 * exact and ordered results, failures, timeouts, crashes and cancellation.
 */
import { QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { Keys } from '../../src/core/keys';
import { startChunkmill, eventually, type ChunkmillHarness } from '../utils/chunkmill-harness';
import { validatingFetch } from '../utils/openapi-validator';

describe('compute workloads', () => {
  let chunkmill: ChunkmillHarness;
  beforeAll(async () => {
    chunkmill = await startChunkmill('compute');
  });
  afterAll(async () => chunkmill.close());

  it("runs the notebook's Pool.map: twenty 2664667000 and an exact sum", async () => {
    const id = await chunkmill.api.submit({ type: 'compute', task: 'sumSquares', inputs: new Array(20).fill(2000), reduce: 'sum' });
    const answer = await chunkmill.api.results(id);
    expect(answer).toEqual({ id, status: 'completed', total: 20, offset: 0, results: new Array(20).fill(2664667000), errors: [], reduced: 53293340000 });
    const view = (await chunkmill.api.get(`/v1/workloads/${id}`)).body;
    expect(view).toMatchObject({ status: 'completed', total: 20, completed: 20, failed: 0, chunks: 20 });
    expect(view.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('answers integers beyond 2^53 as exact decimal strings', async () => {
    const id = await chunkmill.api.submit({ type: 'compute', task: 'sumSquares', inputs: [20_000_000, 3], reduce: 'max' });
    const answer = await chunkmill.api.results(id);
    expect(answer.results).toEqual(['2666666466666670000000', 5]);
    expect(answer.reduced).toBe('2666666466666670000000');
  });

  it('keeps results in input order when chunks finish out of order', async () => {
    const waits = [600, 0, 400, 50, 250, 10, 150];
    const id = await chunkmill.api.submit({ type: 'compute', task: 'sleep', inputs: waits.map((ms) => ({ ms })), chunkSize: 1 });
    const answer = await chunkmill.api.results(id);
    expect(answer.status).toBe('completed');
    answer.results.forEach((waited: number, index: number) => {
      expect(waited).toBeGreaterThanOrEqual(waits[index] - 1);
      expect(waited).toBeLessThan(waits[index] + 100);
    });
  });

  it('reports an item that throws in errors and ends the workload failed; the others succeed', async () => {
    const id = await chunkmill.api.submit({ type: 'compute', task: 'throwsOn', inputs: [1, -2, 3, 4], chunkSize: 2, attempts: 2 });
    const answer = await chunkmill.api.results(id);
    expect(answer.status).toBe('failed');
    expect(answer.results).toEqual([1, null, 3, 4]);
    expect(answer.errors).toEqual([{ index: 1, code: 'TASK_ERROR', message: 'negative input -2' }]);
    // Retried twice, counted once.
    expect((await chunkmill.api.get(`/v1/workloads/${id}`)).body).toMatchObject({ completed: 3, failed: 1, status: 'failed' });
  });

  it('stops an item at its timeout (ITEM_TIMEOUT); sibling items finish', async () => {
    const started = Date.now();
    const id = await chunkmill.api.submit({
      type: 'compute',
      task: 'spin',
      inputs: [{ ms: 60_000 }, { ms: 10 }, { ms: 10 }],
      chunkSize: 3,
      timeoutMs: 500,
      attempts: 1,
    });
    const answer = await chunkmill.api.results(id);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(answer.status).toBe('failed');
    expect(answer.results[0]).toBeNull();
    expect(answer.results[1]).toBeGreaterThanOrEqual(10);
    expect(answer.errors).toEqual([{ index: 0, code: 'ITEM_TIMEOUT', message: expect.stringContaining('500 ms') }]);
  });

  it('survives a task that kills its thread: the item fails after its attempts, the process lives on', async () => {
    const id = await chunkmill.api.submit({ type: 'compute', task: 'exitThread', inputs: [1], attempts: 2 });
    const answer = await chunkmill.api.results(id);
    expect(answer.errors).toEqual([{ index: 0, code: 'THREAD_CRASHED', message: expect.any(String) }]);
    const after = await chunkmill.api.submit({ type: 'compute', task: 'sumSquares', inputs: [10, 10] });
    expect((await chunkmill.api.results(after)).results).toEqual([285, 285]);
    expect(chunkmill.worker.lines.filter((line) => line.msg === 'worker process died; forking a new one')).toEqual([]);
  });

  it('cancels a running workload: running items stop, queued chunks are removed', async () => {
    const id = await chunkmill.api.submit({ type: 'compute', task: 'spin', inputs: new Array(6).fill({ ms: 4000 }), chunkSize: 1 });
    await eventually(async () => (await chunkmill.api.get(`/v1/workloads/${id}`)).body.status === 'running');
    const cancelled = await chunkmill.api.delete(`/v1/workloads/${id}`);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.status).toBe('cancelled');
    // The spinning threads were freed: a small workload now finishes long before the 4 s spins would have.
    const started = Date.now();
    const next = await chunkmill.api.submit({ type: 'compute', task: 'sumSquares', inputs: [2000, 2000] });
    expect((await chunkmill.api.results(next)).status).toBe('completed');
    expect(Date.now() - started).toBeLessThan(2500);
    // Queued chunks were removed by the DELETE; the stopped running ones complete as their workers notice.
    await eventually(async () => {
      const counts = await chunkmill.producer.queues.compute.getJobCounts('waiting', 'prioritized', 'active', 'delayed');
      return Object.values(counts).reduce((a, b) => a + b, 0) === 0;
    }, 5_000);
    expect((await chunkmill.api.get(`/v1/workloads/${id}`)).body).toMatchObject({ status: 'cancelled', completed: 0 });
    expect((await chunkmill.api.delete(`/v1/workloads/${next}`)).status).toBe(409);
  });

  it('streams progress, each result once, and done over SSE', async () => {
    const id = await chunkmill.api.submit({ type: 'compute', task: 'sleep', inputs: [{ ms: 300 }, { ms: 0 }, { ms: 150 }], chunkSize: 1 });
    // The stream checked against the OpenAPI document, each event's data by its event name.
    const checked = validatingFetch();
    const response = await checked(`${chunkmill.api.baseUrl}/v1/workloads/${id}/events`);
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const text = await response.text();
    expect(checked.violations.map((violation) => violation.message)).toEqual([]);
    const events = text
      .trim()
      .split('\n\n')
      .map((block) => {
        const [eventLine, dataLine] = block.split('\n');
        return { event: eventLine.slice('event: '.length), data: JSON.parse(dataLine.slice('data: '.length)) };
      });
    const results = events.filter((event) => event.event === 'result').map((event) => event.data.index);
    expect(results.sort()).toEqual([0, 1, 2]);
    expect(events[0].event).toBe('progress');
    expect(events.at(-1)).toEqual({ event: 'done', data: { status: 'completed', completed: 3, failed: 0, total: 3 } });
  });
});

describe('the thread pool keeps the event loop free', () => {
  let chunkmill: ChunkmillHarness;
  afterAll(async () => chunkmill?.close());

  it('a 3 s spin chunk under a 1 s BullMQ lock never stalls', async () => {
    chunkmill = await startChunkmill('lock', {
      workerEnv: { WORKER_PROCESSES: '1', LOCK_DURATION_MS: '1000', STALLED_INTERVAL_MS: '1000', MAX_STALLED_COUNT: '0' },
    });
    const connection = new Redis(chunkmill.config.REDIS_URL, { maxRetriesPerRequest: null });
    const events = new QueueEvents(new Keys(chunkmill.prefix).queueName('compute'), { connection, prefix: chunkmill.prefix });
    const stalled: string[] = [];
    events.on('stalled', ({ jobId }) => stalled.push(jobId));
    await events.waitUntilReady();

    const id = await chunkmill.api.submit({ type: 'compute', task: 'spin', inputs: [{ ms: 3000 }], attempts: 1 });
    const answer = await chunkmill.api.results(id);
    await events.close();
    connection.disconnect();
    expect(answer.status).toBe('completed');
    expect(answer.results[0]).toBeGreaterThanOrEqual(3000);
    expect(stalled).toEqual([]);
    expect(chunkmill.worker.lines.filter((line) => line.msg === 'chunk stalled' || line.msg === 'chunk attempt failed')).toEqual([]);
  });
});
