import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { createLogger, REDIS_NOISE, type Logger } from '../../src/core/logger';
import { RedisAvailability, redactRedisUrl, redisUrlHosts } from '../../src/core/redis-availability';
import { freePort } from '../../src/core/redis-server';

describe('Redis URLs in log lines and /readyz', () => {
  it.each([
    ['redis://127.0.0.1:6379', 'redis://127.0.0.1:6379', 'redis://127.0.0.1:6379'],
    ['redis://:secret@h:6379/0', 'redis://:***@h:6379/0', 'redis://h:6379'],
    ['redis://app:secret@h', 'redis://app:***@h', 'redis://h'],
    ['redis://:pa:ss@h', 'redis://:***@h', 'redis://h'],
    ['rediss://u:p@ss@h:6380', 'rediss://u:***@h:6380', 'rediss://h:6380'],
    ['rediss://u:p@s:s@h', 'rediss://u:***@h', 'rediss://h'],
    ['redis://onlyword@h', 'redis://***@h', 'redis://h'],
    ['redis://us%40er:p%40ss%3A@h', 'redis://us%40er:***@h', 'redis://h'],
    ['redis://:p/ss@h', 'redis://:***@h', 'redis://h'],
    ['redis+cluster://secret@a:1,b:2', 'redis+cluster://***@a:1,b:2', 'redis+cluster://a:1,b:2'],
    ['redis+cluster://app:se:cr@t@a:1,b:2', 'redis+cluster://app:***@a:1,b:2', 'redis+cluster://a:1,b:2'],
    ['rediss+cluster://a:1,b:2', 'rediss+cluster://a:1,b:2', 'rediss+cluster://a:1,b:2'],
    ['redis://h:6379?password=secret&db=1', 'redis://h:6379?password=***&db=1', 'redis://h:6379'],
    ['not a url :secret@h', '***', '***'],
  ])('%s', (url, logged, hosts) => {
    expect(redactRedisUrl(url)).toBe(logged);
    expect(redisUrlHosts(url)).toBe(hosts);
    for (const shown of [redactRedisUrl(url), redisUrlHosts(url)]) {
      expect(shown).not.toMatch(/secret|pa:ss|p@ss|p%40ss|se:cr/);
    }
  });
});

/** A role's logger and availability (as run-main.ts wires them), its lines kept. */
function roleLogging(url: string): { lines: Array<Record<string, unknown>>; logger: Logger; redis: RedisAvailability } {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      for (const text of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(text));
      done();
    },
  });
  let redis: RedisAvailability | undefined;
  const logger = createLogger('test', 'info', { absorb: (error) => redis?.absorb(error) ?? false, destination });
  redis = new RedisAvailability(url, logger, { connectGraceMs: 60_000, remindEveryMs: 60_000 });
  return { lines, logger, redis };
}

describe('the outage account leaves out only the noise', () => {
  const refused = new Error('connect ECONNREFUSED 127.0.0.1:1');

  it('absorbs warnings marked as Redis noise, counts each once, and keeps errors and unmarked lines', async () => {
    const { lines, logger, redis } = roleLogging('redis://:pw@127.0.0.1:1');
    // A connection that cannot connect: its 'error' events are seen by the availability and logged as noise.
    const port = await freePort();
    const connection = new Redis({ port, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => 50, maxRetriesPerRequest: 0 });
    let connectionErrors = 0;
    connection.on('error', (error) => {
      connectionErrors++;
      logger.warn({ err: error, ...REDIS_NOISE }, 'redis connection error');
    });
    redis.watch(connection);
    connection.connect().catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(connectionErrors).toBeGreaterThan(1);
    logger.warn({ err: refused, ...REDIS_NOISE }, 'reconciler look failed; trying again later');
    logger.error({ err: refused }, 'could not roll back a failed submission');
    logger.warn({ err: refused }, 'the queues could not be initialised');
    logger.warn({ err: new Error('OOM command not allowed when used memory > maxmemory'), ...REDIS_NOISE }, 'result cache write failed');
    connection.disconnect();
    const messages = lines.map((line) => String(line.msg));
    expect(messages.filter((msg) => msg === 'redis connection error' || msg.startsWith('reconciler'))).toEqual([]);
    expect(messages.filter((msg) => msg.startsWith('waiting for Redis at redis://:***@127.0.0.1:1'))).toHaveLength(1);
    expect(messages).toEqual(
      expect.arrayContaining(['could not roll back a failed submission', 'the queues could not be initialised', 'result cache write failed']),
    );
    expect(redis.notReadyReason()).toMatch(/^waiting for Redis at redis:\/\/127\.0\.0\.1:1 \(/);
    // Each line left out counted once: every connection error (seen by the logger and by `watch`) and the reconciler's.
    expect((redis as unknown as { absorbed: number }).absorbed).toBe(connectionErrors + 1);

    // After close (a shutdown), lost connections marked as noise are left out; errors never are.
    redis.close();
    logger.warn({ err: refused, ...REDIS_NOISE }, 'redis connection error');
    logger.error({ err: refused }, 'shutdown failed');
    expect(lines.map((line) => line.msg)).toContain('shutdown failed');
    expect(lines.filter((line) => line.msg === 'redis connection error')).toEqual([]);
    expect(JSON.stringify(lines)).not.toContain(':pw@');
  });
});
