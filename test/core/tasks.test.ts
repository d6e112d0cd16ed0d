import { findTask, listTasks } from '../../src/core/tasks/task-registry';
import { sumSquares } from '../../src/core/tasks/sum-squares';
import { countPrimes } from '../../src/core/tasks/count-primes';
import { mulArrays } from '../../src/core/tasks/mul-arrays';
import { spin } from '../../src/core/tasks/spin';
import { sleep } from '../../src/core/tasks/sleep';

const closedForm = (n: bigint): bigint => (n === 0n ? 0n : ((n - 1n) * n * (2n * n - 1n)) / 6n);

describe('built-in tasks', () => {
  it('sumSquares matches the notebook and the closed form, exactly', () => {
    expect(sumSquares.run(2000)).toBe(2664667000n);
    expect(sumSquares.run(0)).toBe(0n);
    expect(sumSquares.run(1)).toBe(0n);
    expect(sumSquares.run(20_000_000)).toBe(2666666466666670000000n);
    for (const n of [2, 3, 1000, 123_457]) expect(sumSquares.run(n)).toBe(closedForm(BigInt(n)));
  });

  it('sumSquares stays exact where the running total passes 2^53 many times', () => {
    const n = 30_000_001;
    expect(sumSquares.run(n)).toBe(closedForm(BigInt(n)));
  });

  it('countPrimes counts primes below n', () => {
    expect([0, 1, 2, 3, 10, 100].map((n) => countPrimes.run(n))).toEqual([0, 0, 0, 1, 4, 25]);
    expect(countPrimes.run(1_000_000)).toBe(78_498);
    expect(countPrimes.run(65_537)).toBe(6542);
  });

  it('mulArrays multiplies element-wise and rejects unequal lengths', () => {
    expect(mulArrays.run({ x: [1, 2, 3], y: [4, 5, 6] })).toEqual([4, 10, 18]);
    expect(mulArrays.input.safeParse({ x: [1], y: [1, 2] }).success).toBe(false);
  });

  it('spin keeps busy for about the time asked, sleep waits', async () => {
    expect(spin.run({ ms: 30 })).toBeGreaterThanOrEqual(30);
    expect(await sleep.run({ ms: 30 })).toBeGreaterThanOrEqual(29);
  });

  it('validates inputs with each task schema', () => {
    expect(sumSquares.input.safeParse(-1).success).toBe(false);
    expect(sumSquares.input.safeParse(1.5).success).toBe(false);
    expect(spin.input.safeParse({ ms: 1, extra: true }).success).toBe(false);
  });

  it('the registry knows the built-ins and nothing inherited from Object', () => {
    expect(listTasks().map((task) => task.name)).toEqual(['sumSquares', 'countPrimes', 'mulArrays', 'spin', 'sleep']);
    for (const name of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) expect(findTask(name)).toBeUndefined();
  });
});
