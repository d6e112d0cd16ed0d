/**
 * Many workloads at once (core/chunk-feeder.ts): each workload holds at most its window of chunk jobs in
 * the queue, so a small workload submitted behind a big one waits for a window, not for the backlog;
 * between priorities, the more urgent workload's chunks go first.
 */
import { startChunkmill, eventually, type ChunkmillHarness } from '../utils/chunkmill-harness';

const view = async (chunkmill: ChunkmillHarness, id: string) => (await chunkmill.api.get(`/v1/workloads/${id}`)).body;

describe('fair share between workloads', () => {
  let chunkmill: ChunkmillHarness;
  beforeAll(async () => {
    // 2 processes × 1 thread × 1 chunk at a time; the default window (8 chunks per workload).
    chunkmill = await startChunkmill('fair-share');
  });
  afterAll(async () => chunkmill.close());

  it('a 10-item workload behind a 20,000-item one finishes within 5 s, while the big one still runs', async () => {
    // 20,000 × 1 ms of sleep on 2 threads, one item after another: at least 10 s of work.
    const big = await chunkmill.api.submit({ type: 'compute', task: 'sleep', inputs: new Array(20_000).fill({ ms: 1 }), chunkSize: 100 });
    await eventually(async () => (await view(chunkmill, big)).completed > 0);

    const submitted = Date.now();
    const small = await chunkmill.api.submit({ type: 'compute', task: 'sleep', inputs: new Array(10).fill({ ms: 1 }) });
    const answer = await chunkmill.api.results(small, 30_000);
    const smallMs = Date.now() - submitted;
    const bigMeanwhile = await view(chunkmill, big);

    expect(answer.status).toBe('completed');
    expect(answer.results).toHaveLength(10);
    // Ahead of the small one: at most a window (8 chunks × 100 items × ~1 ms) of the big one, on 2 threads.
    expect(smallMs).toBeLessThan(5_000);
    expect(bigMeanwhile.status).toBe('running');
    expect(bigMeanwhile.completed).toBeLessThan(20_000 / 2);

    // The big one is still fed to its end: every item exactly once.
    const bigAnswer = await chunkmill.api.results(big, 120_000);
    expect(bigAnswer.status).toBe('completed');
    expect(await view(chunkmill, big)).toMatchObject({ status: 'completed', completed: 20_000, failed: 0, chunks: 200 });
    expect(Date.now() - submitted).toBeGreaterThan(smallMs * 2);
  }, 150_000);

  it('priority: a more urgent workload submitted later runs before the rest of a normal one', async () => {
    // 60 chunks × 10 items × 5 ms: 50 ms per chunk.
    const normal = await chunkmill.api.submit({ type: 'compute', task: 'sleep', inputs: new Array(600).fill({ ms: 5 }), chunkSize: 10 });
    await eventually(async () => (await view(chunkmill, normal)).completed > 0);
    const normalBefore = (await view(chunkmill, normal)).completed;
    const urgent = await chunkmill.api.submit({ type: 'compute', task: 'sleep', inputs: new Array(200).fill({ ms: 5 }), chunkSize: 10, priority: 1 });
    expect((await chunkmill.api.results(urgent, 60_000)).status).toBe('completed');
    const normalAfter = await view(chunkmill, normal);
    // While the urgent one's 20 chunks ran, the normal one only finished the chunks its 2 workers held
    // (running, or just fetched) when the urgent ones arrived: 60 items allows 6 such chunks. With equal
    // priorities it would have shared the workers: its window (8 chunks) first, then about half of the rest.
    expect(normalAfter.status).toBe('running');
    expect(normalAfter.completed - normalBefore).toBeLessThanOrEqual(60);
    expect((await chunkmill.api.results(normal, 60_000)).status).toBe('completed');
    expect(await view(chunkmill, normal)).toMatchObject({ completed: 600, failed: 0 });
  }, 90_000);
});
