import pino, { type Logger } from 'pino';

export type { Logger };

export interface LoggerOptions {
  /**
   * Asked about every warning marked `redisNoise: true` (see REDIS_NOISE) that has an `err` field:
   * answering true leaves the line out. A role's process passes RedisAvailability.absorb, so that a
   * Redis outage is told once rather than by every failed reconnect and retry (redis-availability.ts).
   */
  absorb?: (error: unknown) => boolean;
  /** Where the lines go. @defaultValue stdout */
  destination?: pino.DestinationStream;
}

/**
 * The mark of a warning that repeats while Redis is away (a connection's or BullMQ's 'error' event, a
 * periodic task that failed): `logger.warn({ err, ...REDIS_NOISE }, msg)`. With a lost connection as its
 * `err`, the outage's own lines tell it instead. Never for a line that must be seen once (a failure to
 * undo, to start or to stop).
 */
export const REDIS_NOISE = { redisNoise: true } as const;

/** pino's numeric level of warnings: only these may be absorbed, never errors. */
const WARN = 40;

/** JSON lines on stdout, one logger per role; tokens and bodies are never logged. */
export function createLogger(role: string, level: string, options: LoggerOptions = {}): Logger {
  const { absorb, destination } = options;
  return pino(
    {
      level,
      base: { role, pid: process.pid },
      redact: { paths: ['req.headers.authorization', 'authorization', 'token'], censor: '[redacted]' },
      hooks: absorb
        ? {
            logMethod(args, method, lineLevel) {
              if (lineLevel === WARN && isRedisNoise(args[0]) && absorb(args[0].err)) return;
              method.apply(this, args);
            },
          }
        : undefined,
    },
    destination,
  );
}

function isRedisNoise(fields: unknown): fields is { err: unknown; redisNoise: true } {
  return typeof fields === 'object' && fields !== null && 'err' in fields && (fields as { redisNoise?: unknown }).redisNoise === true;
}
