/**
 * `npm run producer`: the HTTP API that accepts workloads and answers about them. It listens at once:
 * /healthz answers straight away, /readyz says 503 with the reason until Redis and the queues are ready.
 */
import type { AddressInfo } from 'node:net';
import { listenOn } from '../core/http-listen';
import { runMain } from '../core/run-main';
import { openProducer } from './producer';

runMain('producer', async (config, logger, _stop, redis) => {
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
});
