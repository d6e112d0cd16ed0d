import { exactFloatSum, reduceValues } from '../../src/core/reduce';

describe('reduceValues', () => {
  it('sums the notebook workload exactly', () => {
    expect(reduceValues('sum', new Array(20).fill(2664667000))).toBe(53293340000);
  });

  it('sums integers beyond 2^53 exactly and answers a decimal string', () => {
    const big = '2666666466666670000000';
    expect(reduceValues('sum', [big, big, 1])).toBe('5333332933333340000001');
    expect(reduceValues('sum', [Number.MAX_SAFE_INTEGER, 2])).toBe('9007199254740993');
  });

  it('finds min and max of integers, including huge ones', () => {
    expect(reduceValues('min', [5, '100000000000000000000', -3])).toBe(-3);
    expect(reduceValues('max', [5, '100000000000000000000', -3])).toBe('100000000000000000000');
  });

  it('sums floats correctly rounded, unlike a naive loop', () => {
    const tenths = new Array(10).fill(0.1);
    expect(tenths.reduce((a, b) => a + b, 0)).not.toBe(1);
    expect(reduceValues('sum', tenths)).toBe(1);
    expect(exactFloatSum([1e100, 1, -1e100])).toBe(1);
  });

  it('counts, and handles empty input', () => {
    expect(reduceValues('count', [1, 2, 3])).toBe(3);
    expect(reduceValues('sum', [])).toBe(0);
    expect(reduceValues('min', [])).toBeNull();
  });

  it('refuses to sum something that is not a number', () => {
    expect(() => reduceValues('sum', [1, [2]])).toThrow(/non-numeric/);
  });
});
