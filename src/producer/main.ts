/** `npm run producer`: the HTTP API that accepts workloads and answers about them. */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { runMain } from '../core/run-main';
import { createProducer } from './producer';

runMain('producer', async (config, logger) => {
  const producer = await createProducer(config, logger);
  const server: Server = await new Promise((resolve) => {
    const listening = producer.app.listen(config.PORT, config.HOST, () => resolve(listening));
  });
  logger.info({ port: (server.address() as AddressInfo).port }, 'producer listening');

  return async () => {
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
    await producer.close();
  };
});
