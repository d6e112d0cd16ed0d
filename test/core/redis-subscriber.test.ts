import { Redis } from 'ioredis';
import { RedisSubscriber } from '../../src/core/redis-subscriber';
import { testRedisUrl, uniquePrefix } from '../utils/redis';

async function receivesOn(subscriber: RedisSubscriber, publisher: Redis, channel: string): Promise<string[]> {
  const received: string[] = [];
  const stop = await subscriber.listen(channel, (message) => received.push(message));
  await publisher.publish(channel, 'hello');
  for (let waited = 0; received.length === 0 && waited < 2000; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20));
  stop();
  return received;
}

describe('RedisSubscriber', () => {
  let publisher: Redis;
  beforeAll(() => {
    publisher = new Redis(testRedisUrl());
  });
  afterAll(() => publisher.disconnect());

  it('tries a failed SUBSCRIBE again (here the first one fails: not connected yet, no offline queue)', async () => {
    const connection = new Redis(testRedisUrl(), { lazyConnect: true, enableOfflineQueue: false });
    const subscriber = new RedisSubscriber(connection);
    try {
      expect(await receivesOn(subscriber, publisher, `${uniquePrefix('subscriber')}:events`)).toEqual(['hello']);
    } finally {
      await subscriber.close();
    }
  });

  it('forgets a subscription that failed for good, so that a later listener subscribes afresh', async () => {
    const connection = new Redis(testRedisUrl());
    const subscriber = new RedisSubscriber(connection);
    const channel = `${uniquePrefix('subscriber')}:events`;
    try {
      await connection.ping();
      connection.disconnect();
      await expect(subscriber.listen(channel, () => undefined)).rejects.toThrow(/Connection is closed/);
      await connection.connect();
      expect(await receivesOn(subscriber, publisher, channel)).toEqual(['hello']);
    } finally {
      await subscriber.close();
    }
  });

  it('tells onResubscribed listeners when the connection is back, subscribed again', async () => {
    const connection = new Redis(testRedisUrl());
    const subscriber = new RedisSubscriber(connection);
    const channel = `${uniquePrefix('subscriber')}:events`;
    try {
      const received: string[] = [];
      await subscriber.listen(channel, (message) => received.push(message));
      let resubscribed = 0;
      const stop = subscriber.onResubscribed(() => resubscribed++);
      await new Promise((resolve) => setTimeout(resolve, 400));
      const before = resubscribed;
      connection.disconnect(true);
      for (let waited = 0; resubscribed === before && waited < 5000; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(resubscribed).toBe(before + 1);
      await publisher.publish(channel, 'after');
      for (let waited = 0; received.length === 0 && waited < 2000; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(received).toEqual(['after']);
      stop();
    } finally {
      await subscriber.close();
    }
  });
});
