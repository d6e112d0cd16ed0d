/**
 * Exact reductions over a workload's results. Integers (including the decimal strings that stand for
 * integers beyond 2^53) are combined as BigInt; other numbers are summed with Shewchuk's algorithm
 * (Python's math.fsum), so `sum` is correctly rounded rather than off by accumulated error.
 */
import { asExactInteger, bigintToJson } from './json-numbers';
import { ValidationError } from './errors';

import type { ReduceOperation } from '../contract';

export type { ReduceOperation } from '../contract';

/** Correctly rounded sum of doubles (msum with Python's final half-even correction). */
export function exactFloatSum(values: Iterable<number>): number {
  const partials: number[] = [];
  for (let x of values) {
    let kept = 0;
    for (let y of partials) {
      if (Math.abs(x) < Math.abs(y)) [x, y] = [y, x];
      const hi = x + y;
      const lo = y - (hi - x);
      if (lo !== 0) partials[kept++] = lo;
      x = hi;
    }
    partials.length = kept;
    partials.push(x);
  }
  let n = partials.length;
  if (n === 0) return 0;
  let hi = partials[--n];
  let lo = 0;
  while (n > 0) {
    const x = hi;
    const y = partials[--n];
    hi = x + y;
    lo = y - (hi - x);
    if (lo !== 0) break;
  }
  if (n > 0 && ((lo < 0 && partials[n - 1] < 0) || (lo > 0 && partials[n - 1] > 0))) {
    const y = lo * 2;
    const x = hi + y;
    if (y === x - hi) hi = x;
  }
  return hi;
}

function asIntegers(values: unknown[]): bigint[] | undefined {
  const integers: bigint[] = [];
  for (const value of values) {
    const integer = asExactInteger(value);
    if (integer === undefined) return undefined;
    integers.push(integer);
  }
  return integers;
}

function asNumbers(values: unknown[]): number[] {
  return values.map((value) => {
    const number = typeof value === 'string' ? Number(value) : value;
    if (typeof number !== 'number' || !Number.isFinite(number)) {
      throw new ValidationError(`Cannot reduce a non-numeric result (${JSON.stringify(value)?.slice(0, 40)}).`);
    }
    return number;
  });
}

/**
 * Reduces the successful results of a workload. `count` counts them; `sum` of nothing is 0;
 * `min`/`max` of nothing is null. Integer answers beyond 2^53 come back as decimal strings.
 */
export function reduceValues(operation: ReduceOperation, values: unknown[]): number | string | null {
  if (operation === 'count') return values.length;
  if (values.length === 0) return operation === 'sum' ? 0 : null;
  const integers = asIntegers(values);
  if (integers) {
    if (operation === 'sum') return bigintToJson(integers.reduce((total, value) => total + value, 0n));
    const pick = operation === 'min' ? (a: bigint, b: bigint) => (b < a ? b : a) : (a: bigint, b: bigint) => (b > a ? b : a);
    return bigintToJson(integers.reduce(pick));
  }
  const numbers = asNumbers(values);
  if (operation === 'sum') return exactFloatSum(numbers);
  return operation === 'min' ? Math.min(...numbers) : Math.max(...numbers);
}
