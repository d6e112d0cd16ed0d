/**
 * The array store's script against a real Redis: it removes an array key only when the key has no TTL
 * (a SETRANGE made it after the array was gone), and asking again changes nothing.
 */
import { Redis } from 'ioredis';
import { Keys } from '../../../src/core/keys';
import { dropArrayIfCreated } from '../../../src/core/redis/array-scripts';
import { deletePrefix, testRedisUrl, uniquePrefix } from '../../utils/redis';

const calculateSlot = require('cluster-key-slot') as (key: string) => number;

describe('array scripts', () => {
  const prefix = uniquePrefix('array-scripts');
  const keys = new Keys(prefix);
  let redis: Redis;

  beforeAll(() => {
    redis = new Redis(testRedisUrl());
  });
  afterAll(async () => {
    redis.disconnect();
    await deletePrefix(prefix);
  });

  it('removes an array key without a TTL, once', async () => {
    const key = keys.array('made-by-setrange');
    await redis.setrange(key, 15, 'x');
    expect(await dropArrayIfCreated.run(redis, { array: key }, {})).toBe(true);
    expect(await redis.exists(key)).toBe(0);
    expect(await dropArrayIfCreated.run(redis, { array: key }, {})).toBe(false);
  });

  it('leaves an array with a TTL (a PUT replaced it) as it is', async () => {
    const key = keys.array('put');
    await redis.set(key, Buffer.alloc(16, 1), 'EX', 60);
    expect(await dropArrayIfCreated.run(redis, { array: key }, {})).toBe(false);
    expect(await redis.getBuffer(key)).toEqual(Buffer.alloc(16, 1));
  });

  it('answers false for an array that does not exist', async () => {
    expect(await dropArrayIfCreated.run(redis, { array: keys.array('never') }, {})).toBe(false);
  });

  it('names one key, whose hash tag is the array name', () => {
    expect(dropArrayIfCreated.definition.keys).toEqual(['array']);
    expect(calculateSlot(keys.array('some-array'))).toBe(calculateSlot('some-array'));
  });
});
