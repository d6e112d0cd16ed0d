/**
 * Fault scenarios 13 and 14: a bounded loopback load test (autocannon, 20 s) on `POST /v1/workloads`
 * and the GET routes with the workers computing at the same time. Every answer must be 2xx; afterwards
 * every accepted workload completes exactly, Redis memory goes back near its baseline once results
 * expire, and the number of series on the `/metrics` endpoints has not grown with the workloads.
 */
import autocannon from 'autocannon';
import { expectValues } from '../utils/exactly-once-audit';
import { FaultCluster } from '../utils/fault-cluster';
import { startRole, type RoleProcess } from '../utils/role-process';

jest.setTimeout(180_000);

const LOAD_SECONDS = 20;
/** Long enough to outlive the run and the audit, short enough to watch the results expire. */
const RESULT_TTL_SECONDS = 35;
const inputs = [1000, 2000, 3000];
const expected = expectValues([332833500, 2664667000, 8995500500]);

async function usedMemory(cluster: FaultCluster): Promise<number> {
  const info = await cluster.connect().info('memory');
  return Number(/used_memory:(\d+)/.exec(info)![1]);
}

/** Prometheus series on a /metrics page: its sample lines. */
/**
 * Prometheus series on a /metrics page: the names and labels of its sample lines. Node's GC histogram
 * is left out: its `kind` label gains its few fixed values (minor, incremental, major) as the process
 * first runs each kind of collection, whatever the workloads.
 */
async function seriesNames(port: number): Promise<string[]> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return text
    .split('\n')
    .filter((line) => line.length > 0 && !line.startsWith('#') && !line.includes('_gc_duration_seconds'))
    .map((line) => line.slice(0, line.lastIndexOf(' ')));
}

function run(options: autocannon.Options): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    autocannon(options, (error, result) => (error ? reject(error) : resolve(result)));
  });
}

describe('fault scenarios: load', () => {
  let cluster: FaultCluster | undefined;
  let dashboard: RoleProcess | undefined;
  afterAll(async () => {
    await dashboard?.stop('SIGKILL', 5_000);
    await cluster?.close();
  });

  it('13 + 14. 20 s of bounded load: only 2xx, every accepted workload completes, memory back near baseline, no new metric series', async () => {
    cluster = await FaultCluster.start('s13', { env: { RESULT_TTL_SECONDS: String(RESULT_TTL_SECONDS) } });
    const workerMetricsPort = Number(cluster.workers[0].lines.find((line) => line.msg === 'worker metrics listening')?.port);
    // The dashboard's listings drop expired ids from the workload index, by the same RESULT_TTL_SECONDS as the other roles.
    const started = await startRole('dashboard', {
      env: { REDIS_URL: cluster.redis.url, DASHBOARD_PORT: '0', HOST: '127.0.0.1', RESULT_TTL_SECONDS: String(RESULT_TTL_SECONDS) },
    });
    dashboard = started.process;
    const dashboardPort = started.port!;
    const body = JSON.stringify({ type: 'compute', task: 'sumSquares', inputs, chunkSize: 3 });

    // Warm up: every kind of series exists once (a workload done, the routes used), then count them.
    const warmUp = await cluster.submit(JSON.parse(body), expected);
    await cluster.api.results(warmUp.body.id);
    await cluster.api.get('/v1/workloads');
    const baselineMemory = await usedMemory(cluster);
    const seriesBefore = { worker: await seriesNames(workerMetricsPort), dashboard: await seriesNames(dashboardPort) };

    const accepted: string[] = [];
    const base = { url: cluster.api.baseUrl, duration: LOAD_SECONDS, connections: 8, timeout: 10 };
    const [posts, gets] = await Promise.all([
      run({
        ...base,
        overallRate: 100,
        requests: [
          {
            method: 'POST',
            path: '/v1/workloads',
            headers: { 'content-type': 'application/json' },
            body,
            onResponse: (status: number, text: string) => {
              if (status === 202) accepted.push(JSON.parse(text).id);
            },
          },
        ],
      }),
      run({
        ...base,
        overallRate: 200,
        requests: [
          { method: 'GET', path: '/v1/workloads?limit=20' },
          // The newest accepted workload, so that every GET finds one.
          { method: 'GET', setupRequest: (request) => ({ ...request, path: `/v1/workloads/${accepted.at(-1) ?? warmUp.body.id}` }) },
          { method: 'GET', setupRequest: (request) => ({ ...request, path: `/v1/workloads/${accepted.at(-1) ?? warmUp.body.id}/results` }) },
          { method: 'GET', path: '/v1/tasks' },
          { method: 'GET', path: '/readyz' },
        ],
      }),
    ]);
    const loadEnded = Date.now();
    for (const result of [posts, gets]) {
      expect({ non2xx: result.non2xx, errors: result.errors, timeouts: result.timeouts }).toEqual({ non2xx: 0, errors: 0, timeouts: 0 });
    }
    expect(accepted.length).toBe(posts['2xx']);
    expect(accepted.length).toBeGreaterThan(LOAD_SECONDS * 50);
    for (const id of accepted) cluster.ledger.accept(id, expected);

    const audit = await cluster.ledger.audit('13 load (autocannon 20 s)', 120_000);
    expect(audit).toMatchObject({ lost: 0, countedTwice: 0, problems: [] });

    // 14: thousands of workloads later, the same series.
    const seriesAfter = { worker: await seriesNames(workerMetricsPort), dashboard: await seriesNames(dashboardPort) };
    expect(seriesAfter.worker.filter((series) => !seriesBefore.worker.includes(series))).toEqual([]);
    expect(seriesAfter.dashboard.filter((series) => !seriesBefore.dashboard.includes(series))).toEqual([]);
    expect(seriesBefore.worker.length).toBeGreaterThan(0);

    // Results expire after RESULT_TTL_SECONDS; then Redis holds about what it held before the load.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, loadEnded + (RESULT_TTL_SECONDS + 3) * 1000 - Date.now())));
    const peakAllowance = 2 * 1024 * 1024;
    let memory = await usedMemory(cluster);
    for (let waited = 0; memory > baselineMemory + peakAllowance && waited < 10_000; waited += 500) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      memory = await usedMemory(cluster);
    }
    expect(memory - baselineMemory).toBeLessThan(peakAllowance);
    expect(await cluster.connect().zcard('chunkmill:workloads')).toBeLessThan(accepted.length / 10);
  });
});
