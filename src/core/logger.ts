import pino, { type Logger } from 'pino';

export type { Logger };

export interface LoggerOptions {
  /**
   * Asked about every warning and error whose `err` field is set: answering true leaves the line out.
   * A role's process passes RedisAvailability.absorb, so that a Redis outage is told once rather than
   * by every failed reconnect and request (redis-availability.ts).
   */
  absorb?: (error: unknown) => boolean;
}

/** pino's numeric levels: warn and error lines may be absorbed, fatal ones never. */
const WARN = 40;
const FATAL = 60;

/** JSON lines on stdout, one logger per role; tokens and bodies are never logged. */
export function createLogger(role: string, level: string, options: LoggerOptions = {}): Logger {
  const { absorb } = options;
  return pino({
    level,
    base: { role, pid: process.pid },
    redact: { paths: ['req.headers.authorization', 'authorization', 'token'], censor: '[redacted]' },
    hooks: absorb
      ? {
          logMethod(args, method, lineLevel) {
            const fields = args[0] as unknown;
            if (lineLevel >= WARN && lineLevel < FATAL && typeof fields === 'object' && fields !== null && 'err' in fields && absorb(fields.err)) return;
            method.apply(this, args);
          },
        }
      : undefined,
  });
}
