import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/core/config';
import { digestTenant } from '../../src/core/tenants';
import { ConfigError } from '../../src/core/errors';

describe('configuration', () => {
  it('has documented defaults', () => {
    const config = loadConfig({});
    expect(config.PORT).toBe(3000);
    expect(config.DASHBOARD_PORT).toBe(3001);
    expect(config.WORKER_METRICS_PORT).toBe(9464);
    expect(config.FETCH_ALLOW_PRIVATE).toBe(false);
    expect(config.TOKENS).toEqual([]);
    expect(config.WORKER_THREADS).toBeGreaterThanOrEqual(1);
    expect(config.WORKER_CONCURRENCY).toBe(config.WORKER_THREADS);
  });

  it('parses values and token lists', () => {
    const config = loadConfig({ PORT: '8080', API_TOKENS: 'a, b,,c', FETCH_ALLOW_PRIVATE: 'true', WORKER_THREADS: '3' });
    expect(config.PORT).toBe(8080);
    expect(config.TOKENS.map((entry) => entry.token)).toEqual(['a', 'b', 'c']);
    expect(config.FETCH_ALLOW_PRIVATE).toBe(true);
    expect(config.WORKER_CONCURRENCY).toBe(3);
  });

  it('reads tenants from API_TOKENS, ADMIN_TOKENS and their files; refuses what is ambiguous, naming no token', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chunkmill-config-'));
    try {
      const file = path.join(dir, 'tokens');
      fs.writeFileSync(file, '# comment\nops:tok-3, tok-4\n\n');
      const config = loadConfig({ API_TOKENS: 'alice:tok-1,tok-2', API_TOKENS_FILE: file, ADMIN_TOKENS: 'root:tok-5' });
      expect(config.TOKENS).toEqual([
        { tenant: 'alice', token: 'tok-1', admin: false },
        { tenant: digestTenant('tok-2'), token: 'tok-2', admin: false },
        { tenant: 'ops', token: 'tok-3', admin: false },
        { tenant: digestTenant('tok-4'), token: 'tok-4', admin: false },
        { tenant: 'root', token: 'tok-5', admin: true },
      ]);
      expect(digestTenant('tok-2')).toMatch(/^t-[0-9a-f]{24}$/);
      for (const [env, problem] of [
        [{ API_TOKENS_FILE: path.join(dir, 'missing') }, /API_TOKENS_FILE: cannot read .*ENOENT/],
        [{ API_TOKENS: 'a b' }, /API_TOKENS: entry 1: a token has no spaces/],
        [{ API_TOKENS: 'ok:t1,bad!name:t2' }, /API_TOKENS: entry 2: a tenant name/],
        [{ API_TOKENS: 'a:same-token,b:same-token' }, /also the token of tenant "a"/],
        [{ API_TOKENS: 'a:same-token', ADMIN_TOKENS: 'a:same-token' }, /once as admin/],
      ] as const) {
        expect(() => loadConfig(env)).toThrow(problem);
        try {
          loadConfig(env);
        } catch (error) {
          expect((error as Error).message).not.toContain('same-token');
        }
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads METRICS_TOKEN from its file; refuses one that is also a tenant token', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chunkmill-config-'));
    try {
      const file = path.join(dir, 'metrics-token');
      fs.writeFileSync(file, 'scrape-me\n');
      expect(loadConfig({ METRICS_TOKEN_FILE: file }).METRICS_TOKEN).toBe('scrape-me');
      expect(loadConfig({}).METRICS_TOKEN).toBeUndefined();
      expect(() => loadConfig({ METRICS_TOKEN_FILE: path.join(dir, 'none') })).toThrow(/METRICS_TOKEN_FILE: cannot read/);
      expect(() => loadConfig({ METRICS_TOKEN: 'same', API_TOKENS: 'a:same' })).toThrow(/METRICS_TOKEN: must differ/);
      expect(loadConfig({ DASHBOARD_QUEUE_ADMIN: 'true' }).DASHBOARD_QUEUE_ADMIN).toBe(true);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads the worker host settings: WORKER_QUEUES, WORKER_ID, and cluster URLs', () => {
    const defaults = loadConfig({});
    expect(defaults.WORKER_QUEUES).toEqual(['compute', 'fetch']);
    expect(defaults.WORKER_ID.length).toBeGreaterThan(0);
    expect(defaults.WORKER_HEARTBEAT_MS).toBe(5000);
    const config = loadConfig({ WORKER_QUEUES: ' fetch ,fetch', WORKER_ID: 'rack-2.host-7', REDIS_URL: 'redis+cluster://10.0.0.1:7000,10.0.0.2:7001' });
    expect(config.WORKER_QUEUES).toEqual(['fetch']);
    expect(config.WORKER_ID).toBe('rack-2.host-7');
    for (const bad of [
      { WORKER_QUEUES: 'compute,gpu' },
      { WORKER_QUEUES: ',' },
      { WORKER_ID: 'has space' },
      { REDIS_URL: 'redis+cluster://' },
      { REDIS_URL: 'redis+cluster://a:1,b:x' },
    ]) {
      const name = Object.keys(bad)[0];
      expect(() => loadConfig(bad)).toThrow(new RegExp(name));
    }
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
