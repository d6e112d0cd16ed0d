/**
 * The producer in the test's own process, on a loopback port, against the test Redis with a fresh
 * prefix: quick to start for tests that only need the API (validation, idempotency, auth).
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { answerClientErrorsInEnvelope } from '../../src/core/client-errors';
import { loadConfig, type Config } from '../../src/core/config';
import { createProducer, type Producer } from '../../src/producer/producer';
import { ApiClient } from './api-client';
import { deletePrefix, testRedisUrl, uniquePrefix } from './redis';

export interface ProducerHarness {
  api: ApiClient;
  producer: Producer;
  config: Config;
  prefix: string;
  close(): Promise<void>;
}

/** @param logLines when given, the producer logs at `trace` into it (one JSON line per entry) instead of staying silent. */
export async function startProducerHarness(name: string, env: Record<string, string> = {}, token?: string, logLines?: string[]): Promise<ProducerHarness> {
  const prefix = env.CHUNKMILL_PREFIX ?? uniquePrefix(name);
  const config = loadConfig({ REDIS_URL: testRedisUrl(), CHUNKMILL_PREFIX: prefix, PORT: '0', HOST: '127.0.0.1', ...env });
  const logger = logLines ? pino({ level: 'trace' }, { write: (line: string) => void logLines.push(line) }) : pino({ level: 'silent' });
  const producer = await createProducer(config, logger);
  const server: Server = await new Promise((resolve) => {
    const listening = producer.app.listen(0, '127.0.0.1', () => resolve(listening));
  });
  answerClientErrorsInEnvelope(server);
  const { port } = server.address() as AddressInfo;
  return {
    api: new ApiClient(`http://127.0.0.1:${port}`, token),
    producer,
    config,
    prefix,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await producer.close();
      await deletePrefix(prefix);
    },
  };
}
