/**
 * Health and start-up without Redis, and what an outage costs in log lines (issue 19, part 4). Every role
 * runs as a process against a `redis-server` this test starts on a free port with a password (never the
 * shared one), and stops or freezes:
 * - started while Redis is down, each role listens at once: /healthz 200, /readyz 503 with the reason,
 *   and each process says once that it waits for Redis (the URL's password redacted);
 * - Redis starts: /readyz 200 everywhere, one "Redis is back" line per process;
 * - Redis killed for 8 s, then frozen (SIGSTOP) for 8 s, while requests keep coming: a few lines per
 *   process at most, no stack trace, no password, and work goes on afterwards.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, redisAnswers } from '../../src/core/redis-server';
import { redactRedisUrl } from '../../src/core/redis-availability';
import { eventually } from '../utils/chunkmill-harness';
import { validatingFetch } from '../utils/openapi-validator';
import { spawnRole, type LogLine, type RoleProcess } from '../utils/role-process';

jest.setTimeout(120_000);

const PASSWORD = 'wait-pass-51d0c7e2';
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A password-protected redis-server on `port` (RedisServer's start waits for a PONG, which NOAUTH is not). */
class LockedRedis {
  private child?: ChildProcess;

  constructor(
    readonly port: number,
    readonly dir: string,
  ) {}

  async start(): Promise<void> {
    this.child = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, '--save', '', '--appendonly', 'no', '--requirepass', PASSWORD],
      { stdio: 'ignore', detached: true },
    );
    // A locked Redis answers PING with -NOAUTH: a reply at all means it listens.
    await eventually(() => portAnswers(this.port), 10_000, 50);
  }

  signal(signal: NodeJS.Signals): void {
    if (this.child?.pid) process.kill(this.child.pid, signal);
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }
}

async function portAnswers(port: number): Promise<boolean> {
  const net = await import('node:net');
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.setTimeout(300, () => {
      socket.destroy();
      resolve(false);
    });
    socket.on('error', () => resolve(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', () => {
      socket.destroy();
      resolve(true);
    });
  });
}

/** The producer's answers, checked against its OpenAPI document (the dashboard's and the worker's are not in it). */
const producerFetch = validatingFetch();

async function get(port: number, route: string, via: typeof fetch = fetch): Promise<{ status: number; body: any }> {
  const response = await via(`http://127.0.0.1:${port}${route}`);
  return { status: response.status, body: await response.json().catch(() => undefined) };
}

const waitingLine = (line: LogLine): boolean => typeof line.msg === 'string' && line.msg.startsWith('waiting for Redis at ');
const backLine = (line: LogLine): boolean => typeof line.msg === 'string' && line.msg.startsWith('Redis is back at ');

describe('roles without Redis: listening at once, ready when Redis is, quiet during an outage', () => {
  let redis: LockedRedis;
  let roles: RoleProcess[] = [];
  let dir: string;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chunkmill-waiting-'));
    redis = new LockedRedis(await freePort(), dir);
  });

  afterAll(async () => {
    redis.signal('SIGCONT');
    await Promise.all(roles.map((role) => role.stop('SIGTERM', 15_000)));
    await redis.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  afterEach(() => expect(producerFetch.violations.map((violation) => violation.message)).toEqual([]));

  it('starts without Redis, becomes ready with it, and tells an outage in a few lines', async () => {
    const url = `redis://:${PASSWORD}@127.0.0.1:${redis.port}`;
    const shown = `redis://:***@127.0.0.1:${redis.port}`;
    expect(redactRedisUrl(url)).toBe(shown);
    expect(await redisAnswers('127.0.0.1', redis.port)).toBe(false);
    const env = {
      REDIS_URL: url,
      HOST: '127.0.0.1',
      PORT: '0',
      DASHBOARD_PORT: '0',
      WORKER_METRICS_PORT: '0',
      WORKER_PROCESSES: '1',
      WORKER_THREADS: '1',
      CHUNKMILL_PREFIX: `cmwait${redis.port}`,
      SHUTDOWN_GRACE_MS: '3000',
    };
    const producer = spawnRole('producer', { env });
    const dashboard = spawnRole('dashboard', { env });
    const worker = spawnRole('worker', { env });
    roles = [producer, dashboard, worker];

    // 1. Redis down: every role listens at once, alive but not ready, and says what it waits for, once.
    const ports = {
      producer: Number((await producer.waitForLog((line) => line.msg === 'producer listening')).port),
      dashboard: Number((await dashboard.waitForLog((line) => line.msg === 'dashboard listening')).port),
      worker: Number((await worker.waitForLog((line) => line.msg === 'worker metrics listening')).port),
    };
    const via = (port: number): typeof fetch => (port === ports.producer ? producerFetch : fetch);
    const allReady = async (): Promise<boolean> =>
      (await Promise.all(Object.values(ports).map((port) => get(port, '/readyz', via(port))))).every((answer) => answer.status === 200);
    for (const port of Object.values(ports)) {
      expect((await get(port, '/healthz', via(port))).status).toBe(200);
      const readyz = await get(port, '/readyz', via(port));
      expect(readyz.status).toBe(503);
      expect(JSON.stringify(readyz.body.error.details)).toMatch(/waiting for Redis|worker processes ready|not registered/);
    }
    // /readyz, which anyone may ask, names the hosts only.
    const reason = (await get(ports.producer, '/readyz', producerFetch)).body.error.details[0].reason;
    expect(reason).toContain(`waiting for Redis at redis://127.0.0.1:${redis.port} (`);
    expect(reason).not.toContain('***');
    // Each process (the worker host's primary and its child too) says it once, with the URL, password redacted.
    await producer.waitForLog(waitingLine);
    await dashboard.waitForLog(waitingLine);
    await worker.waitForLog(waitingLine, 20_000, 2);
    await sleep(3000);
    const pidsOf = (role: RoleProcess): number[] => [...new Set(role.lines.map((line) => Number(line.pid)))];
    expect(pidsOf(worker)).toHaveLength(2);
    for (const role of roles) {
      for (const pid of pidsOf(role)) {
        const waiting = role.lines.filter((line) => line.pid === pid && waitingLine(line));
        expect([role.role, pid, waiting.length]).toEqual([role.role, pid, 1]);
        expect(waiting[0]).toMatchObject({ redis: shown });
      }
    }

    // 2. Redis comes: ready everywhere, and each process says so once.
    await redis.start();
    await eventually(allReady, 30_000, 250);
    for (const role of roles) for (const pid of pidsOf(role)) await role.waitForLog((line) => line.pid === pid && backLine(line), 10_000);

    // 3. Outages of 8 s: killed, then frozen, with requests coming in. A few lines per process at most.
    const submit = (): Promise<number> =>
      producerFetch(`http://127.0.0.1:${ports.producer}/v1/workloads`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ type: 'compute', task: 'sumSquares', inputs: [1, 2, 3], chunkSize: 1 }),
        signal: AbortSignal.timeout(5_000),
      }).then(
        (response) => response.status,
        () => 0,
      );
    for (const outage of ['killed', 'frozen'] as const) {
      const before = new Map(roles.map((role) => [role, role.lines.length]));
      let requests = 0;
      let loading = true;
      const load = (async () => {
        while (loading) {
          await Promise.all([
            submit(),
            get(ports.producer, '/readyz', producerFetch).catch(() => undefined),
            get(ports.dashboard, '/readyz').catch(() => undefined),
          ]);
          requests++;
          await sleep(200);
        }
      })();
      if (outage === 'killed') await redis.stop();
      else redis.signal('SIGSTOP');
      await sleep(8_000);
      const notReady = await get(ports.producer, '/readyz', producerFetch);
      expect([outage, notReady.status]).toEqual([outage, 503]);
      if (outage === 'killed') await redis.start();
      else redis.signal('SIGCONT');
      await eventually(allReady, 30_000, 250);
      await sleep(2_000);
      loading = false;
      await load;
      expect(requests).toBeGreaterThan(10);
      for (const role of roles) {
        const during = role.lines.slice(before.get(role));
        for (const pid of pidsOf(role)) {
          // Warnings and errors: "waiting for Redis", perhaps one "still waiting"; nothing per reconnect or per
          // request (the requests' own info lines, e.g. "workload accepted", are the traffic's, not the outage's).
          const lines = during.filter((line) => line.pid === pid && (Number(line.level) >= 40 || backLine(line))).map((line) => `${line.level} ${line.msg}`);
          expect([outage, role.role, pid, lines.length <= 3 ? 'a few' : lines]).toEqual([outage, role.role, pid, 'a few']);
        }
      }
    }

    // Nothing anywhere carried a stack trace or the password; work goes on.
    for (const role of roles) {
      expect(role.output.filter((text) => /^\s+at |"stack":/.test(text) || text.includes(PASSWORD))).toEqual([]);
    }
    expect(await submit()).toBe(202);
  });
});
