import { timeLimit } from '../../src/core/time-limit';

describe('timeLimit', () => {
  it('answers the value of a promise that settles in time', async () => {
    await expect(timeLimit(Promise.resolve('in time'), 1_000, 'late')).resolves.toBe('in time');
  });

  it('answers the fallback once the time is up, without waiting for the promise', async () => {
    const started = Date.now();
    await expect(timeLimit(new Promise(() => undefined), 50, 'late')).resolves.toBe('late');
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('passes on a rejection that comes in time', async () => {
    await expect(timeLimit(Promise.reject(new Error('refused')), 1_000, 'late')).rejects.toThrow('refused');
  });
});
