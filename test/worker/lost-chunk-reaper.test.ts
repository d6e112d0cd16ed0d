/**
 * A chunk whose worker dies more often than BullMQ allows is given up by BullMQ without our processor
 * ever finishing it. The reaper must still record its items (CHUNK_LOST), so the workload ends.
 */
import { startChunkmill, eventually, type ChunkmillHarness } from '../utils/chunkmill-harness';

describe('lost chunks', () => {
  let chunkmill: ChunkmillHarness;
  afterAll(async () => chunkmill?.close());

  it('records the items of a chunk BullMQ gave up on as CHUNK_LOST; the workload ends failed', async () => {
    chunkmill = await startChunkmill('reaper', {
      workerEnv: { WORKER_PROCESSES: '1', LOCK_DURATION_MS: '1000', STALLED_INTERVAL_MS: '500', MAX_STALLED_COUNT: '0' },
    });
    const id = await chunkmill.api.submit({ type: 'compute', task: 'spin', inputs: [{ ms: 20_000 }, { ms: 20_000 }], chunkSize: 2 });
    await eventually(async () => (await chunkmill.api.get(`/v1/workloads/${id}`)).body.status === 'running');
    const child = chunkmill.worker.lines.find((line) => line.msg === 'worker process ready');
    process.kill(Number(child!.pid), 'SIGKILL');

    const answer = await chunkmill.api.results(id, 30_000);
    expect(answer.status).toBe('failed');
    expect(answer.results).toEqual([null, null]);
    expect(answer.errors).toEqual([
      { index: 0, code: 'CHUNK_LOST', message: expect.stringContaining('stalled') },
      { index: 1, code: 'CHUNK_LOST', message: expect.stringContaining('stalled') },
    ]);
    expect((await chunkmill.api.get(`/v1/workloads/${id}`)).body).toMatchObject({ completed: 0, failed: 2 });
    // The host re-forked the killed process and goes on working.
    await chunkmill.worker.waitForLog((line) => line.msg === 'worker process ready', 20_000, 2);
    const next = await chunkmill.api.submit({ type: 'compute', task: 'sumSquares', inputs: [2000] });
    expect((await chunkmill.api.results(next)).results).toEqual([2664667000]);
  });
});
