import fs from 'node:fs';
import type { RedisServer } from '../../src/core/redis-server';

export default async function globalTeardown(): Promise<void> {
  const started = (globalThis as { chunkmillTestRedis?: { server: RedisServer; dir: string } }).chunkmillTestRedis;
  if (!started) return;
  await started.server.stop();
  fs.rmSync(started.dir, { recursive: true, force: true });
}
