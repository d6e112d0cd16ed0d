import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { unlinkKeysWithPrefix } from '../../src/core/redis-connection';

export function testRedisUrl(): string {
  const url = process.env.CHUNKMILL_TEST_REDIS_URL;
  if (!url) throw new Error('CHUNKMILL_TEST_REDIS_URL is not set: run the tests with `npm test`');
  return url;
}

/** A key prefix no other test uses. */
export function uniquePrefix(name: string): string {
  return `cmtest-${name}-${randomBytes(4).toString('hex')}`;
}

/** Deletes every key under `prefix` (and closes the connection it made). */
export async function deletePrefix(prefix: string, url = testRedisUrl()): Promise<void> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    await unlinkKeysWithPrefix(redis, prefix);
  } finally {
    redis.disconnect();
  }
}

/** Counts the keys under `prefix`: a quick way to show that a rejected request wrote nothing. */
export async function countKeys(redis: Redis, prefix: string): Promise<number> {
  let cursor = '0';
  let count = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    count += keys.length;
  } while (cursor !== '0');
  return count;
}
