/**
 * The result cache (`"cache": true`, core/result-cache.ts): a second workload of the same deterministic
 * inputs is answered from the cache, every item a hit, and no item runs on a thread (the worker host's
 * own counters of item runs do not move). Without the flag, items run as always.
 */
import { startChunkmill, type ChunkmillHarness } from '../utils/chunkmill-harness';
import { scrape, sumOf } from '../utils/prometheus-text';

describe('result cache', () => {
  let chunkmill: ChunkmillHarness;
  let metricsUrl: string;
  beforeAll(async () => {
    chunkmill = await startChunkmill('result-cache');
    const listening = await chunkmill.worker.waitForLog((line) => line.msg === 'worker metrics listening');
    metricsUrl = `http://127.0.0.1:${Number(listening.port)}/metrics`;
  });
  afterAll(async () => chunkmill.close());

  const counters = async (task: string) => {
    const samples = await scrape(metricsUrl);
    return {
      hits: sumOf(samples, 'chunkmill_cache_hits_total', { task }),
      misses: sumOf(samples, 'chunkmill_cache_misses_total', { task }),
      runs: sumOf(samples, 'chunkmill_items_total', { queue: 'compute', task }),
      threadRuns: sumOf(samples, 'chunkmill_item_run_seconds_count', { queue: 'compute', task }),
    };
  };

  it('answers a repeated workload from the cache: every item a hit, nothing runs, same results', async () => {
    const inputs = Array.from({ length: 40 }, (_, i) => 100_000 + i);
    const workload = { type: 'compute', task: 'sumSquares', inputs, chunkSize: 5, cache: true, reduce: 'sum' };
    const first = await chunkmill.api.results(await chunkmill.api.submit(workload));
    expect(first.status).toBe('completed');
    expect(await counters('sumSquares')).toEqual({ hits: 0, misses: 40, runs: 40, threadRuns: 40 });

    const second = await chunkmill.api.results(await chunkmill.api.submit(workload));
    expect(second.status).toBe('completed');
    expect(second.results).toEqual(first.results);
    expect(second.reduced).toEqual(first.reduced);
    expect(await counters('sumSquares')).toEqual({ hits: 40, misses: 40, runs: 40, threadRuns: 40 });

    // The same inputs without the flag run again: the cache is opt-in.
    const third = await chunkmill.api.results(await chunkmill.api.submit({ ...workload, cache: undefined }));
    expect(third.results).toEqual(first.results);
    expect(await counters('sumSquares')).toEqual({ hits: 40, misses: 40, runs: 80, threadRuns: 80 });
  });

  it('keys by task and canonical input: the same object with its keys in another order is a hit', async () => {
    const first = await chunkmill.api.results(
      await chunkmill.api.submit({ type: 'compute', task: 'mulArrays', inputs: [{ x: [1, 2], y: [3, 4] }], cache: true }),
    );
    const second = await chunkmill.api.results(
      await chunkmill.api.submit({
        type: 'compute',
        task: 'mulArrays',
        inputs: [
          { y: [3, 4], x: [1, 2] },
          { x: [2], y: [2] },
        ],
        cache: true,
      }),
    );
    expect(first.results).toEqual([[3, 8]]);
    expect(second.results).toEqual([[3, 8], [4]]);
    expect(await counters('mulArrays')).toMatchObject({ hits: 1, misses: 2, runs: 2 });
  });
});
