/**
 * chunkmill against a Redis that is locked: a `redis-server` this test starts on free loopback ports
 * (never the shared one), with `requirepass`, an ACL user that may touch only chunkmill's prefix with the
 * smallest command set the README documents, and TLS on its `tls-port` with a certificate from a
 * throwaway CA made here with `openssl`; then a 3-master Redis Cluster that speaks only TLS (its bus
 * too) with the same password and user. The roles run as processes: with a password over plain TCP, and
 * as the ACL user over `rediss://` and `rediss+cluster://` (trusting the CA through NODE_EXTRA_CA_CERTS). Every feature that
 * touches Redis is used once (compute and array workloads, results, events, cancel, the dashboard's
 * metrics and bull-board), and no role logs a refused command.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis, type RedisOptions } from 'ioredis';
import { freePort } from '../../src/core/redis-server';
import { ApiClient } from '../utils/api-client';
import { validatingFetch } from '../utils/openapi-validator';
import { eventually, FAULT_TASKS } from '../utils/chunkmill-harness';
import { redisClusterToolsInstalled } from '../utils/redis-cluster';
import { startRole, type RoleProcess } from '../utils/role-process';

jest.setTimeout(120_000);

const PREFIX = 'cmsecure';
const PASSWORD = 'default-pass-7c2e9b41';
const ACL_USER = 'chunkmill';
const ACL_PASSWORD = 'acl-pass-3f8a1d6e';
/** The README's smallest ACL for chunkmill (Security, "Redis"), for the prefix `cmsecure`. */
const ACL_RULES = `~${PREFIX}:* &${PREFIX}:* +@all -@dangerous +info`;

function openssl(dir: string, ...args: string[]): void {
  const result = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`openssl ${args.join(' ')}: ${result.stderr}`);
}

/** A throwaway CA, and a certificate for 127.0.0.1 that it signed. */
function makeCertificates(dir: string): void {
  openssl(dir, 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=chunkmill test CA');
  openssl(dir, 'req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'redis.key', '-out', 'redis.csr', '-subj', '/CN=127.0.0.1');
  fs.writeFileSync(path.join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1\n');
  openssl(
    dir,
    'x509',
    '-req',
    '-in',
    'redis.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'redis.pem',
    '-days',
    '1',
    '-extfile',
    'san.ext',
  );
}

/** The first error a connection with `options` meets (AUTH refused, TLS handshake refused). */
async function connectionError(options: RedisOptions): Promise<string> {
  const client = new Redis({ ...options, lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
  const errors: string[] = [];
  client.on('error', (error: Error) => errors.push(error.message));
  await client.connect().catch((error: Error) => errors.push(error.message));
  client.disconnect();
  return errors.join(' | ');
}

/**
 * Runs producer, worker host and dashboard against `redisUrl` and uses every feature that touches Redis
 * once; checks no role met a refused command or a failed handshake.
 */
async function runEverything(redisUrl: string, extraEnv: Record<string, string>, prefix: string, roles: RoleProcess[]): Promise<void> {
  const env = { REDIS_URL: redisUrl, CHUNKMILL_PREFIX: prefix, HOST: '127.0.0.1', CHUNKMILL_TASK_MODULES: FAULT_TASKS, ...extraEnv };
  const producer = await startRole('producer', { env: { ...env, PORT: '0' } });
  const worker = await startRole('worker', { env: { ...env, WORKER_PROCESSES: '1', WORKER_THREADS: '1', WORKER_METRICS_PORT: '0' } });
  const dashboard = await startRole('dashboard', { env: { ...env, DASHBOARD_PORT: '0' } });
  roles.push(producer.process, worker.process, dashboard.process);
  const api = new ApiClient(`http://127.0.0.1:${producer.port}`);
  // The producer's answers that ApiClient does not read (an event stream, an array's PUT), checked against the OpenAPI document.
  const checked = validatingFetch();
  try {
    expect((await api.get('/readyz')).body).toEqual({ status: 'ready' });
    // A compute workload, with the result cache; its results, events and the workload list.
    const id = await api.submit({ type: 'compute', task: 'sumSquares', inputs: [1, 2, 3, 1, 2, 3], chunkSize: 2, cache: true, reduce: 'sum' });
    const results = await api.results(id);
    expect(results).toMatchObject({ status: 'completed', results: [0, 1, 5, 0, 1, 5], reduced: 12 });
    const events = await (await checked(`${api.baseUrl}/v1/workloads/${id}/events`)).text();
    expect(events).toContain('event: done');
    expect((await api.get('/v1/workloads')).body.workloads[0].id).toBe(id);
    expect((await api.get('/v1/workers')).body.workers).toHaveLength(1);
    // Arrays: put, a workload over them, read back.
    const bytes = Buffer.from(new Float64Array([1, 2, 3, 4]).buffer);
    expect((await checked(`${api.baseUrl}/v1/arrays/x`, { method: 'PUT', headers: { 'content-type': 'application/octet-stream' }, body: bytes })).status).toBe(
      200,
    );
    const arrays = await api.submit({ type: 'compute', task: 'sumArray', arrays: { x: 'x' }, elementsPerItem: 2, reduce: 'sum' });
    expect((await api.results(arrays)).reduced).toBe(10);
    // Cancel, with an Idempotency-Key.
    const slow = await api.post(
      '/v1/workloads',
      { type: 'compute', task: 'sleep', inputs: new Array(20).fill({ ms: 200 }), chunkSize: 1 },
      { 'idempotency-key': 'k1' },
    );
    expect(slow.status).toBe(202);
    expect((await api.delete(`/v1/workloads/${slow.body.id}`)).body.status).toBe('cancelled');
    // The dashboard: metrics from Redis, the live feed, bull-board.
    const dashboardBase = `http://127.0.0.1:${dashboard.port}`;
    expect(checked.violations.map((violation) => violation.message)).toEqual([]);
    await eventually(async () => (await (await fetch(`${dashboardBase}/metrics`)).text()).includes('chunkmill_workloads{status="completed"} 2'), 15_000, 300);
    expect((await fetch(`${dashboardBase}/queues/api/queues`)).status).toBe(200);
    // The live feed samples once a second.
    const overview = async () => ((await (await fetch(`${dashboardBase}/api/overview`)).json()) as { workloads: unknown[] }).workloads.length;
    await eventually(async () => (await overview()) === 3, 10_000, 200);
  } finally {
    for (const role of [producer.process, worker.process, dashboard.process]) await role.stop('SIGTERM');
  }
  // Nothing refused on the way: no NOPERM, no authentication error in any role's output.
  const output = [producer.process, worker.process, dashboard.process].flatMap((role) => role.output);
  expect(output.filter((line) => /NOPERM|NOAUTH|WRONGPASS|certificate|ECONNRESET/i.test(line))).toEqual([]);
}

describe('Redis with a password, an ACL user and TLS', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chunkmill-secured-redis-'));
  let redisServer: ChildProcess;
  let port: number;
  let tlsPort: number;
  let admin: Redis;
  const roles: RoleProcess[] = [];

  beforeAll(async () => {
    makeCertificates(dir);
    [port, tlsPort] = [await freePort(), await freePort()];
    fs.writeFileSync(
      path.join(dir, 'redis.conf'),
      [
        `port ${port}`,
        `tls-port ${tlsPort}`,
        'bind 127.0.0.1',
        `dir ${dir}`,
        'save ""',
        'appendonly no',
        'maxmemory-policy noeviction',
        `tls-cert-file ${path.join(dir, 'redis.pem')}`,
        `tls-key-file ${path.join(dir, 'redis.key')}`,
        `tls-ca-cert-file ${path.join(dir, 'ca.pem')}`,
        // Clients prove the server, not themselves: chunkmill authenticates with its ACL user's password.
        'tls-auth-clients no',
        `requirepass ${PASSWORD}`,
        `user ${ACL_USER} on >${ACL_PASSWORD} ${ACL_RULES}`,
        '',
      ].join('\n'),
    );
    redisServer = spawn('redis-server', [path.join(dir, 'redis.conf')], { stdio: 'ignore', detached: true });
    const connectAdmin = async (): Promise<Redis | undefined> => {
      const client = new Redis({ host: '127.0.0.1', port, password: PASSWORD, lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
      client.on('error', () => undefined);
      return client.connect().then(
        () => client,
        () => void client.disconnect(),
      );
    };
    await eventually(async () => (admin = (await connectAdmin())!) !== undefined, 10_000, 100);
  });
  afterAll(async () => {
    for (const role of roles) await role.stop('SIGTERM');
    admin?.disconnect();
    if (redisServer && redisServer.exitCode === null) {
      const exited = new Promise((resolve) => redisServer.once('exit', resolve));
      redisServer.kill('SIGTERM');
      await exited;
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a wrong password, and keeps the ACL user inside its prefix', async () => {
    expect(await connectionError({ host: '127.0.0.1', port, password: 'wrong' })).toMatch(/WRONGPASS|invalid username-password/);
    expect(await connectionError({ host: '127.0.0.1', port, username: ACL_USER, password: 'wrong' })).toMatch(/WRONGPASS|invalid username-password/);
    // The ACL user may not leave its prefix.
    const user = new Redis({ host: '127.0.0.1', port, username: ACL_USER, password: ACL_PASSWORD, lazyConnect: true });
    await user.connect();
    await expect(user.set('elsewhere:x', '1')).rejects.toThrow(/NOPERM/);
    await expect(user.flushall()).rejects.toThrow(/NOPERM/);
    expect(await user.set(`${PREFIX}:probe`, '1')).toBe('OK');
    await user.del(`${PREFIX}:probe`);
    user.disconnect();
  });

  it('runs every feature with a password over plain TCP', async () => {
    await runEverything(`redis://:${PASSWORD}@127.0.0.1:${port}`, {}, `${PREFIX}-pw`, roles);
  });

  it('runs every feature as the ACL user over TLS, trusting the throwaway CA', async () => {
    await runEverything(`rediss://${ACL_USER}:${ACL_PASSWORD}@127.0.0.1:${tlsPort}`, { NODE_EXTRA_CA_CERTS: path.join(dir, 'ca.pem') }, PREFIX, roles);
    // Its keys are all under the prefix the ACL allows.
    const keys = await admin.keys('*');
    expect(keys.filter((key) => !key.startsWith(`${PREFIX}`))).toEqual([]);
  });

  it('a certificate from another CA is refused over TLS', async () => {
    // This process does not trust the throwaway CA (no NODE_EXTRA_CA_CERTS): the server's certificate is refused.
    expect(await connectionError({ host: '127.0.0.1', port: tlsPort, username: ACL_USER, password: ACL_PASSWORD, tls: {} })).toMatch(
      /unable to verify|self[- ]signed|certificate/i,
    );
    // With the CA, the same connection works.
    const trusted = new Redis({
      host: '127.0.0.1',
      port: tlsPort,
      username: ACL_USER,
      password: ACL_PASSWORD,
      tls: { ca: fs.readFileSync(path.join(dir, 'ca.pem')) },
    });
    expect(await trusted.set(`${PREFIX}:tls-probe`, '1')).toBe('OK');
    await trusted.del(`${PREFIX}:tls-probe`);
    trusted.disconnect();
  });
});

// `redis-cli --cluster create` makes the cluster (Debian's redis-tools).
(redisClusterToolsInstalled() ? describe : describe.skip)('a Redis Cluster over TLS, with a password and the ACL user', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chunkmill-secured-cluster-'));
  const servers: ChildProcess[] = [];
  const ports: number[] = [];
  const roles: RoleProcess[] = [];
  const tls = (): { ca: Buffer } => ({ ca: fs.readFileSync(path.join(dir, 'ca.pem')) });

  beforeAll(async () => {
    makeCertificates(dir);
    for (let i = 0; i < 3; i++) {
      const port = await freePort();
      const nodeDir = path.join(dir, `node-${port}`);
      fs.mkdirSync(nodeDir);
      ports.push(port);
      // TLS only (`port 0`), the cluster bus too; nodes authenticate to each other with `masterauth`.
      servers.push(
        spawn(
          'redis-server',
          [
            '--port',
            '0',
            '--tls-port',
            String(port),
            '--bind',
            '127.0.0.1',
            '--dir',
            nodeDir,
            '--save',
            '',
            '--appendonly',
            'no',
            '--cluster-enabled',
            'yes',
            '--cluster-config-file',
            path.join(nodeDir, 'nodes.conf'),
            '--tls-cluster',
            'yes',
            '--tls-cert-file',
            path.join(dir, 'redis.pem'),
            '--tls-key-file',
            path.join(dir, 'redis.key'),
            '--tls-ca-cert-file',
            path.join(dir, 'ca.pem'),
            '--tls-auth-clients',
            'no',
            '--requirepass',
            PASSWORD,
            '--masterauth',
            PASSWORD,
            '--user',
            ACL_USER,
            'on',
            `>${ACL_PASSWORD}`,
            ...ACL_RULES.split(' '),
          ],
          { stdio: 'ignore', detached: true },
        ),
      );
    }
    for (const port of ports) {
      await eventually(async () => (await connectionError({ host: '127.0.0.1', port, password: PASSWORD, tls: tls() })) === '', 10_000, 100);
    }
    const create = spawnSync(
      'redis-cli',
      [
        '--tls',
        '--cacert',
        path.join(dir, 'ca.pem'),
        '-a',
        PASSWORD,
        '--no-auth-warning',
        '--cluster',
        'create',
        ...ports.map((port) => `127.0.0.1:${port}`),
        '--cluster-yes',
      ],
      { encoding: 'utf8' },
    );
    if (create.status !== 0) throw new Error(`redis-cli --cluster create: ${create.stdout}${create.stderr}`);
    for (const port of ports) {
      const node = new Redis({ host: '127.0.0.1', port, password: PASSWORD, tls: tls() });
      await eventually(async () => (await node.cluster('INFO')).includes('cluster_state:ok'), 15_000, 200);
      node.disconnect();
    }
  });
  afterAll(async () => {
    for (const role of roles) await role.stop('SIGTERM');
    for (const server of servers) {
      if (server.exitCode !== null) continue;
      const exited = new Promise((resolve) => server.once('exit', resolve));
      server.kill('SIGTERM');
      await exited;
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('runs every feature as the ACL user over rediss+cluster://, trusting the throwaway CA', async () => {
    const url = `rediss+cluster://${ACL_USER}:${ACL_PASSWORD}@${ports.map((port) => `127.0.0.1:${port}`).join(',')}`;
    await runEverything(url, { NODE_EXTRA_CA_CERTS: path.join(dir, 'ca.pem') }, PREFIX, roles);
  });
});
