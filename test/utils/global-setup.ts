/**
 * Finds the Redis the tests use, as `npm start` does: REDIS_URL if set, else the one on
 * 127.0.0.1:6379, else a `redis-server` started here on a free port (stopped in global-teardown).
 * Every test then works under its own key prefix, so tests never see each other's data.
 */
import os from 'node:os';
import path from 'node:path';
import fs from 'node:fs';
import { DEFAULT_REDIS_URL, REDIS_INSTALL_HINT, RedisServer, freePort, redisAnswers, redisServerInstalled } from '../../src/core/redis-server';

export default async function globalSetup(): Promise<void> {
  if (process.env.REDIS_URL) {
    process.env.CHUNKMILL_TEST_REDIS_URL = process.env.REDIS_URL;
    return;
  }
  if (await redisAnswers('127.0.0.1', 6379)) {
    process.env.CHUNKMILL_TEST_REDIS_URL = DEFAULT_REDIS_URL;
    return;
  }
  if (!redisServerInstalled()) throw new Error(REDIS_INSTALL_HINT);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chunkmill-test-redis-'));
  const server = new RedisServer({ port: await freePort(), dir });
  await server.start();
  (globalThis as { chunkmillTestRedis?: { server: RedisServer; dir: string } }).chunkmillTestRedis = { server, dir };
  process.env.CHUNKMILL_TEST_REDIS_URL = server.url;
}
