/**
 * docker-compose.yml in a real Docker engine (issue 19, part 1): builds the image, brings the stack up
 * with two worker replicas (every service but Grafana, which has no image here), waits for the
 * healthchecks, runs a compute and a fetch workload, checks GET /v1/workers, Prometheus's targets and
 * every query of the Grafana dashboard through Prometheus's API, stops a worker in the middle of a chunk
 * and sees the chunk handed back and finished elsewhere, and brings everything down (`down -v`, on
 * failure too) leaving no container, network or volume behind.
 *
 * Skips, saying why, when there is no Docker engine or the base images are neither here nor pullable;
 * with CHUNKMILL_REQUIRE_DOCKER=1 (set by .ci/run once it has an engine and the images) it fails instead.
 * Runs under its own compose project name, on free loopback ports (the compose file's CHUNKMILL_*_PORT
 * variables), with its own image tag; talks to 127.0.0.1 only. What only this test needs (a small HTTP
 * server for the fetch workload, FETCH_ALLOW_PRIVATE for it, a short shutdown grace) is in an override
 * file it writes, not in the compose file.
 */
import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../src/core/redis-server';
import { ApiClient } from '../utils/api-client';
import { eventually } from '../utils/chunkmill-harness';

const ROOT = path.resolve(__dirname, '../..');
const BASE_IMAGES = ['node:20-bookworm-slim', 'redis:7', 'prom/prometheus:v2.53.0'];
/** Its own tag: a developer's `chunkmill:local` is left alone, and kept between runs for the build cache. */
const IMAGE = 'chunkmill:compose-test';
const SERVICES = ['redis', 'producer', 'worker', 'dashboard', 'prometheus', 'echo'];
const SHUTDOWN_GRACE_MS = 3_000;

jest.setTimeout(15 * 60_000);

const sh = (command: string, args: string[], timeoutMs = 30_000) => spawnSync(command, args, { encoding: 'utf8', timeout: timeoutMs });

/** `docker compose` (v2) when there is one, else `docker-compose` (v1); undefined without either. */
function composeCommand(): string[] | undefined {
  if (sh('docker', ['compose', 'version']).status === 0) return ['docker', 'compose'];
  if (sh('docker-compose', ['version']).status === 0) return ['docker-compose'];
  return undefined;
}

/** Why this test cannot run here, or undefined. Pulls a missing base image once (no registry: it says so). */
function whyNot(): string | undefined {
  const info = sh('docker', ['info', '--format', '{{.ServerVersion}}']);
  if (info.error || info.status !== 0) return `no Docker engine (docker info: ${(info.stderr || String(info.error ?? '')).trim().split('\n')[0]})`;
  if (!composeCommand()) return 'neither `docker compose` nor `docker-compose` is installed';
  for (const image of BASE_IMAGES) {
    if (sh('docker', ['image', 'inspect', image]).status === 0) continue;
    const pull = sh('docker', ['pull', '-q', image], 120_000);
    if (pull.status !== 0) return `image ${image} is missing and cannot be pulled (${(pull.stderr || 'timed out').trim().split('\n')[0]})`;
  }
  return undefined;
}

const skipReason = whyNot();
if (skipReason && process.env.CHUNKMILL_REQUIRE_DOCKER === '1') throw new Error(`CHUNKMILL_REQUIRE_DOCKER=1 but ${skipReason}`);
if (skipReason) process.stdout.write(`compose-engine.test.ts skipped: ${skipReason}\n`);
const describeWithEngine = skipReason ? describe.skip : describe;

interface Run {
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[], options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(
      command,
      args,
      { cwd: ROOT, env: options.env ?? process.env, timeout: options.timeoutMs ?? 120_000, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`${command} ${args.join(' ')}: ${error.message}\n${stderr.slice(-4000)}`));
        else resolve({ stdout, stderr });
      },
    );
  });
}

const sumSquares = (n: number): number => ((n - 1) * n * (2 * n - 1)) / 6;

/** Every `expr` of every panel (rows' nested panels included) of the Grafana dashboard. */
function dashboardQueries(): Array<{ panel: string; expr: string }> {
  const dashboard = JSON.parse(fs.readFileSync(path.join(ROOT, 'deploy/grafana/dashboards/chunkmill.json'), 'utf8'));
  const found: Array<{ panel: string; expr: string }> = [];
  const visit = (panels: any[] = []): void => {
    for (const panel of panels) {
      for (const target of panel.targets ?? [])
        if (typeof target.expr === 'string' && target.expr.trim()) found.push({ panel: panel.title, expr: target.expr });
      visit(panel.panels);
    }
  };
  visit(dashboard.panels);
  return found;
}

/** Grafana's variables as Prometheus takes them: intervals a minute wide (12 scrapes), any other variable "all". */
function substituteVariables(expr: string): string {
  return expr
    .replace(/\$__rate_interval|\$\{__rate_interval\}|\$__range|\$\{__range\}/g, '1m')
    .replace(/\$__interval|\$\{__interval\}/g, '15s')
    .replace(/\$\{(\w+)(:\w+)?\}|\$(\w+)/g, '.*');
}

describeWithEngine(`docker-compose.yml in a Docker engine${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  const project = `chunkmill-test-${randomBytes(4).toString('hex')}`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chunkmill-compose-'));
  const override = path.join(dir, 'docker-compose.test.yml');
  const compose = composeCommand() ?? [];
  let env: NodeJS.ProcessEnv = {};
  let ports = { api: 0, dashboard: 0, prometheus: 0 };
  const timings: Record<string, number> = {};

  const dc = (args: string[], timeoutMs?: number): Promise<Run> =>
    run(compose[0], [...compose.slice(1), '-p', project, '-f', 'docker-compose.yml', '-f', override, ...args], { env, timeoutMs });
  const timed = async <T>(name: string, step: () => Promise<T>): Promise<T> => {
    const started = Date.now();
    try {
      return await step();
    } finally {
      timings[name] = Date.now() - started;
    }
  };

  beforeAll(async () => {
    ports = { api: await freePort(), dashboard: await freePort(), prometheus: await freePort() };
    env = {
      ...process.env,
      CHUNKMILL_IMAGE: IMAGE,
      CHUNKMILL_API_PORT: String(ports.api),
      CHUNKMILL_DASHBOARD_PORT: String(ports.dashboard),
      CHUNKMILL_PROMETHEUS_PORT: String(ports.prometheus),
      // The compose defaults (one process, one thread per replica); set here so a developer's shell does not change them.
      WORKER_PROCESSES: '1',
      WORKER_THREADS: '1',
      WORKER_QUEUES: 'compute,fetch',
      SHUTDOWN_GRACE_MS: String(SHUTDOWN_GRACE_MS),
    };
    // JSON is YAML. Test-only: the fetch workload's server (on the chunkmill image), private addresses allowed
    // for it, and a heartbeat often enough to see a running chunk quickly.
    const echo =
      "require('http').createServer((req, res) => res.setHeader('content-type', 'application/json').end(JSON.stringify({ path: req.url }))).listen(8080)";
    fs.writeFileSync(
      override,
      JSON.stringify({
        services: {
          worker: { environment: { FETCH_ALLOW_PRIVATE: 'true', WORKER_HEARTBEAT_MS: '1000' } },
          echo: { image: IMAGE, command: ['node', '-e', echo] },
        },
      }),
    );
  });

  afterAll(async () => {
    try {
      await dc(['down', '-v', '--remove-orphans', '-t', '5'], 180_000);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
      process.stdout.write(`compose-engine.test.ts timings (ms): ${JSON.stringify(timings)}\n`);
    }
  });

  it('builds, comes up healthy with two workers, runs work, is observable, survives a worker stop, and goes away', async () => {
    const api = new ApiClient(`http://127.0.0.1:${ports.api}`);
    try {
      // 1. Build the image (the compose file's `build: .`), then start every service but Grafana.
      await timed('build', () => dc(['build', 'producer'], 14 * 60_000));
      await timed('up', () => dc(['up', '-d', '--scale', 'worker=2', ...SERVICES], 5 * 60_000));
      const containers = async (service: string): Promise<string[]> => (await dc(['ps', '-q', service])).stdout.split('\n').filter(Boolean);
      const health = async (id: string): Promise<string> =>
        (await run('docker', ['inspect', '-f', '{{if .State.Health}}{{.State.Health.Status}}{{end}}', id])).stdout.trim();
      await timed('healthy', () =>
        eventually(
          async () => {
            const ids = (await Promise.all(['redis', 'producer', 'worker', 'dashboard'].map(containers))).flat();
            return ids.length === 5 && (await Promise.all(ids.map(health))).every((status) => status === 'healthy');
          },
          180_000,
          1_000,
        ),
      );
      expect((await api.get('/healthz')).status).toBe(200);
      expect((await api.get('/readyz')).body).toEqual({ status: 'ready' });

      // 2. GET /v1/workers: two hosts, under their container hostnames, one process and one thread each.
      const workerIds = await containers('worker');
      const hostnames = await Promise.all(workerIds.map(async (id) => (await run('docker', ['inspect', '-f', '{{.Config.Hostname}}', id])).stdout.trim()));
      await eventually(async () => (await api.get('/v1/workers')).body.workers?.length === 2, 30_000, 500);
      const workers = (await api.get('/v1/workers')).body.workers;
      expect(workers.map((worker: any) => worker.id).sort()).toEqual([...hostnames].sort());
      for (const worker of workers) expect(worker).toMatchObject({ processes: 1, threads: 1, queues: ['compute', 'fetch'] });

      // 3. A compute and a fetch workload, every result exact.
      await timed('workloads', async () => {
        const inputs = Array.from({ length: 40 }, (_, i) => i + 1);
        const computeId = await api.submit({ type: 'compute', task: 'sumSquares', inputs, chunkSize: 4 });
        const urls = Array.from({ length: 12 }, (_, i) => `http://echo:8080/item/${i}`);
        const fetchId = await api.submit({ type: 'fetch', urls, chunkSize: 3 });
        const compute = await api.results(computeId, 60_000);
        expect(compute.status).toBe('completed');
        expect(compute.results).toEqual(inputs.map(sumSquares));
        const fetched = await api.results(fetchId, 60_000);
        expect(fetched.status).toBe('completed');
        fetched.results.forEach((result: any, i: number) => expect(result).toMatchObject({ status: 200, ok: true, value: { path: `/item/${i}` } }));
        // A refused submission and an unknown id: the API panels' 4xx series have something to show.
        expect((await api.post('/v1/workloads', { type: 'compute', task: 'sumSquares', inputs: ['x'] })).status).toBe(400);
        expect((await api.get('/v1/workloads/no-such-workload')).status).toBe(404);
      });

      // 4. Prometheus: both worker replicas (Docker DNS), the producer and the dashboard (with the metrics token) are up;
      //    every query of the Grafana dashboard answers with data.
      const prometheus = async (route: string): Promise<any> => (await fetch(`http://127.0.0.1:${ports.prometheus}${route}`)).json();
      await timed('prometheus', async () => {
        await eventually(
          async () => {
            const targets = (await prometheus('/api/v1/targets')).data.activeTargets as any[];
            const up = (job: string) => targets.filter((target) => target.labels.job === job && target.health === 'up').length;
            return up('chunkmill-worker') === 2 && up('chunkmill-dashboard') === 1 && up('chunkmill-producer') === 1;
          },
          60_000,
          1_000,
        );
        const queries = dashboardQueries();
        expect(queries.length).toBeGreaterThan(10);
        const empty = async () => {
          const answers = await Promise.all(
            queries.map(async ({ panel, expr }) => {
              const answer = await prometheus(`/api/v1/query?query=${encodeURIComponent(substituteVariables(expr))}`);
              return answer.status === 'success' && answer.data.result.length > 0 ? undefined : `${panel}: ${expr} → ${JSON.stringify(answer).slice(0, 300)}`;
            }),
          );
          return answers.filter((problem): problem is string => problem !== undefined);
        };
        // Rates need two scrapes (5 s apart) after the workloads.
        let problems: string[] = [];
        await eventually(async () => (problems = await empty()).length === 0, 60_000, 2_000).catch(() => undefined);
        expect(problems).toEqual([]);
      });

      // 5. A worker stopped in the middle of a chunk: the chunk goes back to the queue, the other replica finishes it.
      await timed('worker-stop', async () => {
        const items = Array.from({ length: 8 }, () => ({ ms: 3_000 }));
        const id = await api.submit({ type: 'compute', task: 'sleep', inputs: items, chunkSize: 4 });
        let busy: any;
        await eventually(
          async () => {
            busy = (await api.get('/v1/workers')).body.workers.find((worker: any) => worker.activeChunks.compute > 0);
            return busy !== undefined;
          },
          30_000,
          250,
        );
        const victim = workerIds[hostnames.indexOf(busy.id)];
        await run('docker', ['stop', '-t', '30', victim], { timeoutMs: 60_000 });
        const logs = await run('docker', ['logs', victim]);
        const lines = `${logs.stdout}\n${logs.stderr}`
          .split('\n')
          .filter((text) => text.startsWith('{'))
          .map((text) => JSON.parse(text));
        expect(lines.filter((line) => line.msg === 'chunk handed back to the queue' && line.level === 30 && line.reason === 'shutdown')).toHaveLength(1);
        expect(lines.some((line) => line.role === 'worker-host' && line.msg === 'stopped')).toBe(true);
        const answer = await api.results(id, 90_000);
        expect(answer.status).toBe('completed');
        expect(answer.results).toHaveLength(items.length);
        for (const waited of answer.results) expect(waited).toBeGreaterThanOrEqual(3_000 - 1);
        // The replica left stays; the stopped one is off the registry.
        await eventually(async () => (await api.get('/v1/workers')).body.workers.length === 1, 30_000, 500);
      });
    } catch (error) {
      const logs = await dc(['logs', '--no-color', '--tail', '40']).catch((failure: Error) => ({ stdout: failure.message, stderr: '' }));
      process.stdout.write(`compose logs (last lines per service):\n${logs.stdout.slice(-20_000)}\n`);
      throw error;
    }

    // 6. Down, volumes too: nothing of the project is left.
    await timed('down', () => dc(['down', '-v', '--remove-orphans', '-t', '10'], 180_000));
    const left = await Promise.all(
      ['ps -a', 'network ls', 'volume ls'].map(async (list) =>
        (await run('docker', [...list.split(' '), '-q', '--filter', `label=com.docker.compose.project=${project}`])).stdout.trim(),
      ),
    );
    expect(left).toEqual(['', '', '']);
  });
});
