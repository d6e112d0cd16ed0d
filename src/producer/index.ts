/**
 * `chunkmill/producer`: the producer API, for those who embed it. `runProducer()` is `npm run producer`
 * (configuration from the environment, stops on SIGTERM/SIGINT); `startProducer(config, logger)` starts
 * it in a process you run yourself and answers its shutdown; `createProducer` gives the Express app
 * without listening.
 */
import type { AddressInfo } from 'node:net';
import type { Config } from '../core/config';
import { listenOn } from '../core/http-listen';
import type { Logger } from '../core/logger';
import { RedisAvailability } from '../core/redis-availability';
import { runMain, type Shutdown } from '../core/run-main';
import { loadTasks } from '../core/tasks/task-registry';
import { openProducer } from './producer';

export { loadConfig, type Config } from '../core/config';
export { ConfigError } from '../core/errors';
export { createLogger, type Logger } from '../core/logger';
export type { Shutdown } from '../core/run-main';
export { createProducer, type Producer } from './producer';

/**
 * Starts the producer on `config.PORT` and `config.HOST` and answers the function that stops it. It
 * listens at once: /healthz answers straight away, /readyz says 503 with the reason until Redis and the
 * queues are ready.
 */
export async function startProducer(
  config: Config,
  logger: Logger,
  _stop?: (reason: string) => void,
  redis = new RedisAvailability(config.REDIS_URL, logger),
): Promise<Shutdown> {
  // A task module it cannot use (CHUNKMILL_TASK_MODULES) stops the start with a ConfigError.
  loadTasks();
  const producer = openProducer(config, logger, redis);
  const server = await listenOn(producer.app, config.PORT, config.HOST, 'PORT');
  logger.info({ port: (server.address() as AddressInfo).port }, 'producer listening');
  producer.started.then(
    () => logger.info('producer ready'),
    () => undefined,
  );

  return async () => {
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
    await producer.close();
  };
}

/** The producer as `npm run producer` runs it: a bad setting exits with code 2, SIGTERM/SIGINT stop it. */
export function runProducer(): void {
  runMain('producer', startProducer);
}
