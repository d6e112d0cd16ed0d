/**
 * chunkmill as a user runs it: `npm run producer` and `npm run worker` as separate processes, driven
 * only over HTTP, and stopped with SIGTERM.
 */
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { ApiClient } from '../utils/api-client';
import { spawnRole, startRole, type RoleProcess } from '../utils/role-process';
import { deletePrefix, testRedisUrl, uniquePrefix } from '../utils/redis';

describe('npm run producer + npm run worker', () => {
  const prefix = uniquePrefix('e2e');
  const env = { REDIS_URL: testRedisUrl(), CHUNKMILL_PREFIX: prefix, PORT: '0', HOST: '127.0.0.1', WORKER_PROCESSES: '2', WORKER_METRICS_PORT: '0' };
  let producer: RoleProcess;
  let worker: RoleProcess;
  let api: ApiClient;

  beforeAll(async () => {
    const started = await startRole('producer', { env, viaNpm: true });
    producer = started.process;
    api = new ApiClient(`http://127.0.0.1:${started.port}`);
    worker = (await startRole('worker', { env, viaNpm: true })).process;
  });
  afterAll(async () => {
    await worker?.stop('SIGKILL');
    await producer?.stop('SIGKILL');
    await deletePrefix(prefix);
  });

  it('computes the notebook workload over HTTP', async () => {
    expect((await api.get('/readyz')).status).toBe(200);
    const id = await api.submit({ type: 'compute', task: 'sumSquares', inputs: new Array(20).fill(2000), reduce: 'sum' });
    const answer = await api.results(id);
    expect(answer.status).toBe('completed');
    expect(answer.results).toEqual(new Array(20).fill(2664667000));
    expect(answer.reduced).toBe(53293340000);
  });

  it('on SIGTERM the worker finishes its running chunks and stops cleanly', async () => {
    const id = await api.submit({ type: 'compute', task: 'spin', inputs: [{ ms: 1500 }, { ms: 1500 }], chunkSize: 1 });
    // Let both chunks start on the two processes before the signal.
    await new Promise((resolve) => setTimeout(resolve, 500));
    // The signal goes to the process group, as Ctrl-C does: npm, its shell and the worker host all get it.
    worker.signalGroup('SIGTERM');
    await worker.waitForLog((line) => line.role === 'worker-host' && line.msg === 'stopped', 20_000);
    const answer = await api.results(id, 1000);
    expect(answer.status).toBe('completed');
    expect(answer.results.every((ms: number) => ms >= 1500)).toBe(true);
  });
});

describe('a worker host run directly (as the container runs it)', () => {
  const prefix = uniquePrefix('e2e-direct');
  afterAll(async () => deletePrefix(prefix));

  it('exits 0 after SIGTERM once its running chunk is done', async () => {
    const env = { REDIS_URL: testRedisUrl(), CHUNKMILL_PREFIX: prefix, WORKER_PROCESSES: '1', WORKER_METRICS_PORT: '0' };
    const producer = await startRole('producer', { env: { ...env, PORT: '0', HOST: '127.0.0.1' } });
    const worker = (await startRole('worker', { env })).process;
    const api = new ApiClient(`http://127.0.0.1:${producer.port}`);
    const id = await api.submit({ type: 'compute', task: 'spin', inputs: [{ ms: 1500 }] });
    await new Promise((resolve) => setTimeout(resolve, 500));
    worker.child.kill('SIGTERM');
    const exit = await worker.exited;
    expect(exit).toEqual({ code: 0, signal: null });
    expect((await api.results(id, 1000)).status).toBe('completed');
    expect(await producer.process.stop('SIGTERM')).toEqual({ code: 0, signal: null });
  });
});

describe('a role whose port is taken', () => {
  it.each([
    ['producer', 'PORT'],
    ['dashboard', 'DASHBOARD_PORT'],
  ] as const)('%s says which port and variable, and exits 2', async (role, variable) => {
    const squatter = net.createServer();
    await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
    const port = (squatter.address() as AddressInfo).port;
    try {
      const started = spawnRole(role, {
        env: { REDIS_URL: testRedisUrl(), CHUNKMILL_PREFIX: uniquePrefix('port-taken'), HOST: '127.0.0.1', [variable]: String(port) },
      });
      expect(await started.exited).toEqual({ code: 2, signal: null });
      await started.outputClosed;
      expect(started.output.join('\n')).toContain(`chunkmill ${role}: Cannot start: ${variable}: port ${port} on 127.0.0.1 is already in use`);
    } finally {
      squatter.close();
    }
  });
});
