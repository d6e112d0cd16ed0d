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
import { runMain, type Shutdown } from '../core/run-main';
import { loadTasks } from '../core/tasks/task-registry';
import { createProducer } from './producer';

export { loadConfig, type Config } from '../core/config';
export { ConfigError } from '../core/errors';
export { createLogger, type Logger } from '../core/logger';
export type { Shutdown } from '../core/run-main';
export { createProducer, type Producer } from './producer';

/** Starts the producer on `config.PORT` and `config.HOST`; answers the function that stops it. */
export async function startProducer(config: Config, logger: Logger): Promise<Shutdown> {
  // A task module it cannot use (CHUNKMILL_TASK_MODULES) stops the start with a ConfigError.
  loadTasks();
  const producer = await createProducer(config, logger);
  const server = await listenOn(producer.app, config.PORT, config.HOST, 'PORT');
  logger.info({ port: (server.address() as AddressInfo).port }, 'producer listening');

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
