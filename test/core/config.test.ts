import { loadConfig } from '../../src/core/config';
import { ConfigError } from '../../src/core/errors';

describe('configuration', () => {
  it('has documented defaults', () => {
    const config = loadConfig({});
    expect(config.PORT).toBe(3000);
    expect(config.DASHBOARD_PORT).toBe(3001);
    expect(config.WORKER_METRICS_PORT).toBe(9464);
    expect(config.FETCH_ALLOW_PRIVATE).toBe(false);
    expect(config.API_TOKENS).toEqual([]);
    expect(config.WORKER_THREADS).toBeGreaterThanOrEqual(1);
    expect(config.WORKER_CONCURRENCY).toBe(config.WORKER_THREADS);
  });

  it('parses values and token lists', () => {
    const config = loadConfig({ PORT: '8080', API_TOKENS: 'a, b,,c', FETCH_ALLOW_PRIVATE: 'true', WORKER_THREADS: '3' });
    expect(config.PORT).toBe(8080);
    expect(config.API_TOKENS).toEqual(['a', 'b', 'c']);
    expect(config.FETCH_ALLOW_PRIVATE).toBe(true);
    expect(config.WORKER_CONCURRENCY).toBe(3);
  });

  it('names every bad variable in one clear error', () => {
    let error: unknown;
    try {
      loadConfig({ PORT: 'eighty', WORKER_PROCESSES: '0', REDIS_URL: 'http://x', FETCH_ALLOW_PRIVATE: 'maybe' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    for (const name of ['PORT', 'WORKER_PROCESSES', 'REDIS_URL', 'FETCH_ALLOW_PRIVATE']) expect(message).toContain(name);
  });
});
