/**
 * The SDK's array calls against a real chunkmill (in-process producer, real worker processes): a
 * Float64Array goes up as bytes, an array workload runs over it, and the product comes back bit for bit.
 */
import { ChunkmillApiError, Pool } from '../../src';
import { startChunkmill, type ChunkmillHarness } from '../utils/chunkmill-harness';
import { validatingFetch } from '../utils/openapi-validator';

describe('Pool arrays (SDK)', () => {
  // Every answer the Pool received matches the OpenAPI document (streams are checked when they end).
  const validating = validatingFetch();
  afterEach(() => expect(validating.violations.map((violation) => violation.message)).toEqual([]));
  let chunkmill: ChunkmillHarness;
  let pool: Pool;

  beforeAll(async () => {
    chunkmill = await startChunkmill('sdk-arrays');
    pool = new Pool({ url: chunkmill.api.baseUrl, fetch: validating });
  });
  afterAll(async () => {
    await chunkmill?.close();
  });

  it('puts arrays, multiplies them on the workers and gets the product back exactly', async () => {
    const x = Float64Array.from({ length: 5000 }, (_, i) => Math.sin(i) * 1e3);
    const y = Float64Array.from({ length: 5000 }, (_, i) => 1 / (i + 1));
    expect(await pool.putArray('x', x, { ttlSeconds: 600 })).toMatchObject({ name: 'x', length: 5000, bytes: 40000 });
    await pool.putArray('y', Array.from(y));
    const { id } = await pool.submit({ type: 'compute', task: 'mulArrays', arrays: { x: 'x', y: 'y', out: 'xy' }, elementsPerItem: 1024 });
    expect((await pool.results(id, { waitMs: 30_000 })).status).toBe('completed');
    const product = await pool.getArray('xy');
    expect(product).toEqual(x.map((value, i) => value * y[i]));

    await pool.deleteArray('xy');
    await expect(pool.getArray('xy')).rejects.toMatchObject({ code: 'NOT_FOUND', status: 404 });
    await expect(pool.getArray('xy')).rejects.toBeInstanceOf(ChunkmillApiError);
  });
});
