/**
 * Array workloads end to end: arrays PUT over HTTP, real worker processes (cluster + piscina threads)
 * reading their slices from Redis into shared memory, and the answers compared bit for bit with a plain
 * Node loop over the same Float64Arrays.
 */
import { exactFloatSum } from '../../src/core/reduce';
import { startChunkmill, type ChunkmillHarness } from '../utils/chunkmill-harness';
import { validatingFetch } from '../utils/openapi-validator';

/** The producer's answers, checked against its OpenAPI document. */
const fetch = validatingFetch();

const LENGTH = 100_003; // not a multiple of the item size: the last item is short
const PER_ITEM = 8_192;

function randomArray(seed: number): Float64Array {
  // A small LCG: the same values every run, spread over many exponents and both signs.
  let state = seed;
  return Float64Array.from({ length: LENGTH }, () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return (state / 2 ** 31 - 0.5) * 10 ** ((state % 9) - 4);
  });
}

describe('array workloads with real worker processes', () => {
  let harness: ChunkmillHarness;
  const x = randomArray(7);
  const y = randomArray(11);

  beforeAll(async () => {
    harness = await startChunkmill('arrays-e2e');
    for (const [name, values] of [
      ['x', x],
      ['y', y],
    ] as const) {
      const answer = await fetch(`${harness.api.baseUrl}/v1/arrays/${name}`, {
        method: 'PUT',
        headers: { 'content-type': 'application/octet-stream' },
        body: Buffer.from(values.buffer),
      });
      expect(answer.status).toBe(200);
    }
  });
  afterAll(async () => {
    await harness?.close();
  });
  afterEach(() => expect(fetch.violations.map((violation) => violation.message)).toEqual([]));

  it('mulArrays writes x * y into out, bit-exact with a Node loop', async () => {
    const id = await harness.api.submit({
      type: 'compute',
      task: 'mulArrays',
      arrays: { x: 'x', y: 'y', out: 'product' },
      elementsPerItem: PER_ITEM,
      chunkSize: 3,
      reduce: 'sum',
    });
    const answer = await harness.api.results(id);
    expect(answer).toMatchObject({ status: 'completed', errors: [], reduced: LENGTH });
    expect(answer.results).toHaveLength(Math.ceil(LENGTH / PER_ITEM));
    const expected = new Float64Array(LENGTH);
    for (let i = 0; i < LENGTH; i++) expected[i] = x[i] * y[i];
    const out = await fetch(`${harness.api.baseUrl}/v1/arrays/product`);
    const bytes = Buffer.from(await out.arrayBuffer());
    expect(Buffer.compare(bytes, Buffer.from(expected.buffer))).toBe(0);
  });

  it('dot and sumArray answer per-item partial sums, reduced exactly', async () => {
    const partials = (term: (i: number) => number): number[] => {
      const sums: number[] = [];
      for (let start = 0; start < LENGTH; start += PER_ITEM) {
        let total = 0;
        for (let i = start; i < Math.min(LENGTH, start + PER_ITEM); i++) total += term(i);
        sums.push(total);
      }
      return sums;
    };
    const dot = await harness.api.results(
      await harness.api.submit({ type: 'compute', task: 'dot', arrays: { x: 'x', y: 'y' }, elementsPerItem: PER_ITEM, reduce: 'sum' }),
    );
    const expectedDot = partials((i) => x[i] * y[i]);
    expect(dot.status).toBe('completed');
    expect(dot.results).toEqual(expectedDot);
    expect(dot.reduced).toBe(exactFloatSum(expectedDot));

    const sum = await harness.api.results(
      await harness.api.submit({ type: 'compute', task: 'sumArray', arrays: { x: 'y' }, elementsPerItem: PER_ITEM, reduce: 'sum' }),
    );
    expect(sum.results).toEqual(partials((i) => y[i]));
    expect(sum.reduced).toBe(exactFloatSum(partials((i) => y[i])));
  });

  it('an array deleted before its items run fails them with ARRAY_MISSING, not zeros', async () => {
    await fetch(`${harness.api.baseUrl}/v1/arrays/gone`, {
      method: 'PUT',
      headers: { 'content-type': 'application/octet-stream' },
      body: Buffer.from(x.buffer),
    });
    const workload = { type: 'compute', task: 'sumArray', arrays: { x: 'gone' }, elementsPerItem: PER_ITEM, priority: 100 };
    // Queue it behind a running spin so that the delete lands before its items start.
    const blockers = await harness.api.submit({ type: 'compute', task: 'spin', inputs: [{ ms: 600 }, { ms: 600 }], chunkSize: 1 });
    const id = await harness.api.submit(workload);
    expect((await harness.api.delete('/v1/arrays/gone')).status).toBe(204);
    const answer = await harness.api.results(id);
    expect(answer.status).toBe('failed');
    expect(answer.errors).toHaveLength(Math.ceil(LENGTH / PER_ITEM));
    expect(answer.errors[0].code).toBe('ARRAY_MISSING');
    await harness.api.results(blockers);
  });
});
