/**
 * The packed form of a chunk's outcomes (one text per chunk): what is written, what reads back, and that
 * a value's JSON text never breaks the packing (the separator never appears raw in JSON text).
 */
import fc from 'fast-check';
import { appendResults, chunkAt, chunkPosition, packOutcomes, unpackSlots } from '../../src/core/results-packing';
import type { ItemErrorView, ItemOutcome } from '../../src/core/workload';

describe('results packing', () => {
  it('packs one slot per item of the chunk, the first outcome of an item winning', () => {
    const chunk = chunkAt(2, 3, 8);
    expect(chunk).toEqual({ index: 2, start: 6, size: 2 });
    const packed = packOutcomes(chunk, [
      { index: 7, ok: false, code: 'TASK_ERROR', message: 'line 1\nline 2' },
      { index: 7, ok: true, value: 'later' },
    ]);
    expect(packed).toEqual({ packed: '\n!{"code":"TASK_ERROR","message":"line 1\\nline 2"}', ok: 0, failed: 1 });
    expect(() => packOutcomes(chunk, [{ index: 5, ok: true, value: 1 }])).toThrow(RangeError);
    expect(chunkPosition({ workloadId: 'w', type: 'compute', chunkIndex: 4, start: 40, task: 't', inputs: [1, 2, 3] })).toEqual({
      index: 4,
      start: 40,
      size: 3,
    });
  });

  it('reads any values and errors back as they were, whole chunks or parts of them', () => {
    const outcome = fc.oneof(
      fc.jsonValue().map((value) => ({ ok: true as const, value })),
      fc.record({ code: fc.constantFrom('TASK_ERROR', 'ITEM_TIMEOUT'), message: fc.string() }).map((error) => ({ ok: false as const, ...error })),
      fc.constant(undefined),
    );
    fc.assert(
      fc.property(fc.array(outcome, { minLength: 1, maxLength: 30 }), fc.nat(40), fc.nat(40), (drawn, a, b) => {
        const chunk = { index: 1, start: 100, size: drawn.length };
        const outcomes = drawn.flatMap((item, position) => (item ? [{ index: 100 + position, ...item } as ItemOutcome] : []));
        const { packed } = packOutcomes(chunk, outcomes);
        expect(unpackSlots(packed, chunk.size)).toHaveLength(chunk.size);
        const from = 100 + Math.min(a, b, drawn.length);
        const to = 100 + Math.min(Math.max(a, b), drawn.length);
        const parts: string[] = [];
        const errors: ItemErrorView[] = [];
        appendResults(chunk, Buffer.from(packed), from, to, parts, errors);
        const values = JSON.parse(`[${parts.join(',')}]`) as unknown[];
        const expected = drawn.slice(from - 100, to - 100).map((item) => (item?.ok ? JSON.parse(JSON.stringify(item.value ?? null)) : null));
        expect(values).toEqual(expected);
        const expectedErrors = drawn
          .map((item, position) => ({ item, index: 100 + position }))
          .filter(({ item, index }) => item && !item.ok && index >= from && index < to)
          .map(({ item, index }) => ({ index, code: (item as { code: string }).code, message: (item as { message: string }).message }));
        expect(errors).toEqual(expectedErrors);
      }),
    );
  });

  it('answers null for every item of a chunk with nothing stored', () => {
    const parts: string[] = [];
    appendResults({ index: 0, start: 0, size: 3 }, null, 1, 3, parts, []);
    expect(parts).toEqual(['null,null']);
  });
});
