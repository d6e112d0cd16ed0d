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
    expect(new RecordingOrder({ recordsInOrderWithCompletion: true }, logger).sendAhead(Promise.resolve(), context)).toBe(true);
    expect(new RecordingOrder({ recordsInOrderWithCompletion: false }, logger).sendAhead(Promise.resolve(), context)).toBe(false);
  });

  it('waits for every recording for a while after one sent ahead failed', async () => {
    const order = new RecordingOrder({ recordsInOrderWithCompletion: true }, logger);
    const failed = Promise.reject(new Error('ERR script error'));
    expect(order.sendAhead(failed, context)).toBe(true);
    await failed.catch(() => undefined);
    await new Promise((resolve) => setImmediate(resolve));
    expect(order.sendAhead(Promise.resolve(), context)).toBe(false);
  });
});
