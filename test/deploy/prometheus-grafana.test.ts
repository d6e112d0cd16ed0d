/**
 * A real Prometheus (Debian's `prometheus`) on loopback scrapes a running chunkmill (the producer, a
 * worker host with two processes and WORKER_ID host-p, and the dashboard); after a workload, every PromQL
 * expression of the Grafana dashboard must parse and return data through Prometheus' HTTP API.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../src/core/redis-server';
import { startChunkmill, eventually, type ChunkmillHarness } from '../utils/chunkmill-harness';
import { startRole, type RoleProcess } from '../utils/role-process';
import { testRedisUrl } from '../utils/redis';

const ROOT = path.resolve(__dirname, '../..');
/** Grafana's variables, as Grafana would fill them in for a short range. */
const GRAFANA_VARIABLES: Record<string, string> = { $__rate_interval: '30s', $__interval: '5s', $__range: '5m' };

function dashboardExprs(): string[] {
  const dashboard = JSON.parse(fs.readFileSync(path.join(ROOT, 'deploy/grafana/dashboards/chunkmill.json'), 'utf8'));
  return dashboard.panels.flatMap((panel: { targets?: Array<{ expr: string }> }) =>
    (panel.targets ?? []).map((target) => target.expr.replace(/\$__\w+/g, (name) => GRAFANA_VARIABLES[name] ?? name)),
  );
}

describe('Prometheus scraping chunkmill, and the Grafana dashboard queries', () => {
  let chunkmill: ChunkmillHarness;
  let dashboard: RoleProcess;
  let prometheus: ChildProcess;
  let prometheusUrl: string;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chunkmill-prometheus-'));

  const query = async (expr: string): Promise<{ status: string; data?: { result: unknown[] }; error?: string }> => {
    const response = await fetch(`${prometheusUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
    return (await response.json()) as { status: string; data?: { result: unknown[] }; error?: string };
  };

  beforeAll(async () => {
    chunkmill = await startChunkmill('prometheus', { workerEnv: { WORKER_ID: 'host-p', WORKER_METRICS_FINAL_SCRAPE_MS: '0' } });
    const producerPort = new URL(chunkmill.api.baseUrl).port;
    const workerPort = Number((await chunkmill.worker.waitForLog((line) => line.msg === 'worker metrics listening')).port);
    const started = await startRole('dashboard', {
      env: { REDIS_URL: testRedisUrl(), CHUNKMILL_PREFIX: chunkmill.prefix, HOST: '127.0.0.1', DASHBOARD_PORT: '0' },
    });
    dashboard = started.process;

    // The job names of deploy/prometheus/prometheus.yml, with static loopback targets instead of Docker DNS.
    const config = path.join(dir, 'prometheus.yml');
    fs.writeFileSync(
      config,
      [
        'global: {scrape_interval: 1s, evaluation_interval: 1s}',
        'scrape_configs:',
        `  - {job_name: chunkmill-producer, static_configs: [{targets: ["127.0.0.1:${producerPort}"]}]}`,
        `  - {job_name: chunkmill-dashboard, static_configs: [{targets: ["127.0.0.1:${started.port}"]}]}`,
        `  - {job_name: chunkmill-worker, static_configs: [{targets: ["127.0.0.1:${workerPort}"]}]}`,
        '',
      ].join('\n'),
    );
    expect(spawnSync('promtool', ['check', 'config', config]).status).toBe(0);
    const port = await freePort();
    prometheusUrl = `http://127.0.0.1:${port}`;
    prometheus = spawn('prometheus', [`--config.file=${config}`, `--storage.tsdb.path=${path.join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`], {
      stdio: 'ignore',
    });
    await eventually(async () => (await fetch(`${prometheusUrl}/-/ready`).catch(() => undefined))?.status === 200, 20_000, 200);
  });
  afterAll(async () => {
    if (prometheus && prometheus.exitCode === null) {
      const exited = new Promise((resolve) => prometheus.once('exit', resolve));
      prometheus.kill('SIGTERM');
      await exited;
    }
    fs.rmSync(dir, { recursive: true, force: true });
    await dashboard?.stop('SIGTERM');
    await chunkmill?.close();
  });

  it('scrapes every target; counters equal the items processed, per worker id', async () => {
    const id = await chunkmill.api.submit({ type: 'compute', task: 'sleep', inputs: new Array(20).fill({ ms: 100 }), chunkSize: 2 });
    expect((await chunkmill.api.results(id)).status).toBe('completed');
    // Refused requests, for the API errors panel.
    expect((await chunkmill.api.post('/v1/workloads', { type: 'compute', task: 'nope', inputs: [1] })).status).toBe(400);
    expect((await chunkmill.api.get('/v1/workloads/no-such-workload')).status).toBe(404);
    await eventually(
      async () => {
        const answer = await query('sum(chunkmill_items_total{outcome="succeeded"})');
        return Number((answer.data?.result[0] as { value: [number, string] } | undefined)?.value[1]) === 20;
      },
      15_000,
      250,
    );
    // Every target answers (each is scraped every second; under load the first scrape of one may lag).
    const upValues = async (): Promise<string[]> => ((await query('up')).data!.result as Array<{ value: [number, string] }>).map((sample) => sample.value[1]);
    await eventually(async () => (await upValues()).length === 3, 15_000, 250);
    expect(await upValues()).toEqual(['1', '1', '1']);
    const chunks = await query('sum by (worker_id) (chunkmill_chunks_total{outcome="completed"})');
    expect(chunks.data!.result).toEqual([{ metric: { worker_id: 'host-p' }, value: [expect.any(Number), '10'] }]);
    // The producer's: one accepted submission, one refused.
    const submitted = async (outcome: string): Promise<string | undefined> =>
      ((await query(`sum(chunkmill_submissions_total{type="compute",outcome="${outcome}"})`)).data?.result[0] as { value: [number, string] } | undefined)
        ?.value[1];
    await eventually(async () => (await submitted('rejected')) === '1', 15_000, 250);
    expect(await submitted('accepted')).toBe('1');
  });

  it('answers every expression of the Grafana dashboard with data', async () => {
    const exprs = dashboardExprs();
    expect(exprs.length).toBeGreaterThan(20);
    const empty = async (): Promise<string[]> => {
      const missing: string[] = [];
      for (const expr of exprs) {
        const answer = await query(expr);
        if (answer.status !== 'success') throw new Error(`${expr}: ${answer.error}`);
        if (answer.data!.result.length === 0) missing.push(expr);
      }
      return missing;
    };
    // rate() needs two scrapes of a series after it first appears: give the 1 s scrapes a few seconds.
    let missing: string[] = [];
    await eventually(async () => (missing = await empty()).length === 0, 20_000, 1_000).catch(() => undefined);
    expect(missing).toEqual([]);
  });
});
