/**
 * When a chunk's last recording may go ahead of its completion unanswered: only where one connection
 * carries both in order, and not for a while after such a recording failed.
 */
import pino from 'pino';
import { RecordingOrder } from '../../src/worker/recording-order';

describe('RecordingOrder', () => {
  const logger = pino({ level: 'silent' });
  const context = { workloadId: 'w', chunkIndex: 0 };

  it('sends ahead on a single Redis, and makes the chunk wait on a cluster or with replica waits', () => {
    const recorded = Promise.resolve('recorded');
    expect(new RecordingOrder({ recordsInOrderWithCompletion: true }, logger).send(() => recorded, context)).toBeUndefined();
    expect(new RecordingOrder({ recordsInOrderWithCompletion: false }, logger).send(() => recorded, context)).toBe(recorded);
  });

  it('waits for every recording for a while after one sent ahead failed', async () => {
    const order = new RecordingOrder({ recordsInOrderWithCompletion: true }, logger);
    const failed = Promise.reject(new Error('ERR script error'));
    expect(order.send(() => failed, context)).toBeUndefined();
    await failed.catch(() => undefined);
    await new Promise((resolve) => setImmediate(resolve));
    const next = Promise.resolve();
    expect(order.send(() => next, context)).toBe(next);
  });
});
