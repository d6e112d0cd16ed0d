import pino, { type Logger } from 'pino';

export type { Logger };

/** JSON lines on stdout, one logger per role; tokens and bodies are never logged. */
export function createLogger(role: string, level: string): Logger {
  return pino({
    level,
    base: { role, pid: process.pid },
    redact: { paths: ['req.headers.authorization', 'authorization', 'token'], censor: '[redacted]' },
  });
}
