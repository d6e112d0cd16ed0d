/**
 * The start and end of every role's process: load and validate the configuration (a bad value exits
 * with code 2 and a readable message), start the role, and on SIGTERM/SIGINT run its shutdown once,
 * then exit 0. A second SIGINT during shutdown exits at once (not the same one delivered twice, see
 * signal-arrivals.ts). A stop during a start-up that does not finish (Redis away) does not wait for it.
 */
import { ConfigError } from './errors';
import { loadConfig, type Config } from './config';
import { createLogger, type Logger } from './logger';
import { RedisAvailability } from './redis-availability';
import { SignalArrivals } from './signal-arrivals';
import { timeLimit } from './time-limit';
import { startTracing, stopTracing } from './tracing';

export type Shutdown = () => Promise<void>;

/**
 * How long a stop asked for during start-up waits for the start to finish. A role starts in well under
 * a second; one that waits for a Redis that is away would never finish, and its stop must not wait for it.
 */
const START_WAIT_ON_STOP_MS = 3_000;

export interface RunMainOptions {
  /**
   * Signals that start the shutdown.
   * @defaultValue ['SIGTERM', 'SIGINT']
   */
  signals?: NodeJS.Signals[];
  /** Signals to ignore, e.g. SIGINT in a cluster child, whose primary relays the shutdown. */
  ignoredSignals?: NodeJS.Signals[];
}

export function runMain(
  role: string,
  start: (config: Config, logger: Logger, stop: (reason: string) => void, redis: RedisAvailability) => Promise<Shutdown>,
  options: RunMainOptions = {},
): void {
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`chunkmill ${role}: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  // One account of Redis's availability per process: the logger leaves out what it already tells.
  let redis: RedisAvailability | undefined;
  const logger = createLogger(role, config.LOG_LEVEL, { absorb: (error) => redis?.absorb(error) ?? false });
  redis = new RedisAvailability(config.REDIS_URL, logger);
  // Off unless the OTEL_* variables turn it on (core/tracing.ts); its last spans are exported on the way out.
  if (startTracing(role, { workerId: config.WORKER_ID })) logger.info('tracing on (OpenTelemetry)');
  let stopping = false;
  let started: Promise<Shutdown>;
  const arrivals = new SignalArrivals();

  const stop = (reason: string): void => {
    const arrival = arrivals.classify();
    if (stopping) {
      // A second Ctrl-C means "now"; the same Ctrl-C delivered twice (by the terminal and by npm) and a
      // repeated SIGTERM (sent to a whole process group) change nothing.
      if (reason !== 'SIGINT' || arrival === 'echo') return;
      logger.warn({ reason }, 'interrupted again: exiting now');
      process.exit(1);
    }
    stopping = true;
    logger.info({ reason }, 'shutting down');
    // Connections closed on purpose are no outage (and a Redis that goes away now is not waited for).
    redis?.close();
    timeLimit(started, START_WAIT_ON_STOP_MS, undefined)
      .then(async (shutdown) => {
        if (shutdown) return shutdown();
        logger.warn('start-up had not finished (Redis unreachable?): nothing to drain, stopping now');
      })
      .then(() => stopTracing())
      .then(() => {
        logger.info('stopped');
        process.exit(0);
      })
      .catch((error) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      });
  };
  for (const signal of options.signals ?? ['SIGTERM', 'SIGINT']) process.on(signal, () => stop(signal));
  for (const signal of options.ignoredSignals ?? []) process.on(signal, () => undefined);
  // Started with an IPC channel (a cluster child, or a role under `npm start`): when the parent is gone, stop.
  if (process.send) process.on('disconnect', () => stop('parent process gone'));

  started = start(config, logger, stop, redis);
  started.catch((error) => {
    // A setting the machine cannot honour (a port in use) is told like a bad value: one line, exit 2.
    if (error instanceof ConfigError) {
      process.stderr.write(`chunkmill ${role}: ${error.message}\n`);
      process.exit(2);
    }
    logger.fatal({ err: error }, `${role} failed to start`);
    process.exit(1);
  });
}
