/**
 * ArrayStore's range reads and writes against a real Redis: an item's slice goes in and out exactly, and
 * a write into an array that is gone (expired, deleted) or has another length reports it and leaves no
 * half-made array behind.
 */
import { Redis } from 'ioredis';
import { ArrayStore } from '../../src/core/array-store';
import { Keys } from '../../src/core/keys';
import { deletePrefix, testRedisUrl, uniquePrefix } from '../utils/redis';

describe('ArrayStore ranges', () => {
  const prefix = uniquePrefix('array-store');
  const keys = new Keys(prefix);
  let redis: Redis;
  let store: ArrayStore;

  beforeAll(() => {
    redis = new Redis(testRedisUrl());
    store = new ArrayStore(redis, keys);
  });
  afterAll(async () => {
    redis.disconnect();
    await deletePrefix(prefix);
  });

  it('reads a range into shared memory and writes a range back, byte for byte', async () => {
    await store.put('a', Buffer.from(Float64Array.from([0, 1, 2, 3, 4, 5]).buffer), 60);
    const shared = new SharedArrayBuffer(3 * 8);
    expect(await store.readRangeInto('a', 2, 5, new Uint8Array(shared))).toBe(true);
    expect([...new Float64Array(shared)]).toEqual([2, 3, 4]);
    expect(await store.readRangeInto('a', 4, 7, new Uint8Array(new SharedArrayBuffer(24)))).toBe(false);

    await store.create('out', 6, 60);
    expect(await store.writeRange('out', 6, 1, new Uint8Array(Float64Array.from([-1, -2]).buffer))).toBe(true);
    expect([...new Float64Array(new Uint8Array((await store.read('out'))!).buffer)]).toEqual([0, -1, -2, 0, 0, 0]);
    expect(await redis.ttl(keys.array('out'))).toBeGreaterThan(0);
  });

  it('refuses to write into an array that is gone, and leaves nothing behind', async () => {
    expect(await store.writeRange('never', 6, 4, new Uint8Array(16))).toBe(false);
    expect(await redis.exists(keys.array('never'))).toBe(0);
  });

  it('reports a write into an array whose length changed', async () => {
    await store.create('resized', 3, 60);
    expect(await store.writeRange('resized', 6, 0, new Uint8Array(16))).toBe(false);
  });
});
