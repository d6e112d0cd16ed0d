/** `npm run producer`: the HTTP API that accepts workloads and answers about them. */
import type { AddressInfo } from 'node:net';
import { listenOn } from '../core/http-listen';
import { runMain } from '../core/run-main';
import { createProducer } from './producer';

runMain('producer', async (config, logger) => {
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
});
