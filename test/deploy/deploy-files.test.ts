/**
 * The deployment files, checked without Docker: `docker-compose config -q` and `promtool check config`
 * pass, and the compose services run the same commands, ports and settings as the npm scripts and
 * configuration the other tests run.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');
const read = (file: string): string => fs.readFileSync(path.join(ROOT, file), 'utf8');
/** Debian's docker-compose is Python and brings PyYAML: the YAML reader these checks use. */
const yaml = (text: string): any =>
  JSON.parse(execFileSync('python3', ['-c', 'import sys, json, yaml; print(json.dumps(yaml.safe_load(sys.stdin)))'], { input: text }).toString());

interface ComposeService {
  command?: string[];
  environment?: Record<string, string>;
  /** docker-compose 1.29 writes a port with a host address in its short form, `127.0.0.1:3000:3000/tcp`. */
  ports?: Array<{ published: string | number; target: string | number; host_ip?: string } | string>;
  expose?: Array<string | number>;
  volumes?: string[];
  image?: string;
  healthcheck?: { test: string[]; start_period?: string };
  depends_on?: Record<string, { condition: string }>;
  stop_grace_period?: string;
}

function portOf(port: NonNullable<ComposeService['ports']>[number]): { hostIp?: string; published: number; target: number } {
  if (typeof port !== 'string') return { hostIp: port.host_ip, published: Number(port.published), target: Number(port.target) };
  const [target, published, hostIp] = port
    .replace(/\/tcp$/, '')
    .split(':')
    .reverse();
  return { hostIp, published: Number(published), target: Number(target) };
}

describe('deployment files', () => {
  const scripts: Record<string, string> = JSON.parse(read('package.json')).scripts;
  let services: Record<string, ComposeService>;

  beforeAll(() => {
    services = yaml(execFileSync('docker-compose', ['config'], { cwd: ROOT }).toString()).services;
  });

  it('docker-compose config -q passes', () => {
    const check = spawnSync('docker-compose', ['config', '-q'], { cwd: ROOT, encoding: 'utf8' });
    expect(check.stderr).toBe('');
    expect(check.status).toBe(0);
  });

  it('promtool check config passes on the Prometheus config', () => {
    // promtool checks that the metrics token's credentials_file exists: a copy of the config gets one.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chunkmill-promtool-'));
    try {
      fs.copyFileSync(path.join(ROOT, 'deploy/prometheus/prometheus.yml'), path.join(dir, 'prometheus.yml'));
      fs.mkdirSync(path.join(dir, 'secrets'));
      fs.writeFileSync(path.join(dir, 'secrets/metrics-token'), 'test-token\n');
      const check = spawnSync('promtool', ['check', 'config', path.join(dir, 'prometheus.yml')], { encoding: 'utf8' });
      expect(check.stdout + check.stderr).toContain('SUCCESS');
      expect(check.status).toBe(0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('scrapes the dashboard with METRICS_TOKEN from the volume the secrets service fills; publishes on 127.0.0.1 only', () => {
    const prometheus = yaml(read('deploy/prometheus/prometheus.yml'));
    const dashboardJob = prometheus.scrape_configs.find((job: any) => job.job_name === 'chunkmill-dashboard');
    expect(dashboardJob.authorization).toEqual({ type: 'Bearer', credentials_file: 'secrets/metrics-token' });
    const volumeAt = (service: ComposeService, target: string) => service.volumes!.find((volume) => volume.split(':')[1] === target)?.split(':')[0];
    expect(volumeAt(services.prometheus, '/etc/prometheus/secrets')).toBe('chunkmill-secrets');
    expect(volumeAt(services.secrets, '/secrets')).toBe('chunkmill-secrets');
    expect(services.dashboard.environment!.METRICS_TOKEN_FILE).toBe('/chunkmill-secrets/metrics-token');
    expect(volumeAt(services.dashboard, '/chunkmill-secrets')).toBe('chunkmill-secrets');
    expect(services.dashboard.environment!.DASHBOARD_QUEUE_ADMIN).toBe('false');
    for (const name of ['producer', 'dashboard', 'prometheus', 'grafana']) {
      expect(services[name].ports!.length).toBeGreaterThan(0);
      for (const port of services[name].ports!) expect([name, portOf(port).hostIp]).toEqual([name, '127.0.0.1']);
    }
  });

  it('has every service; the roles run what `npm run <role>` runs', () => {
    expect(Object.keys(services).sort()).toEqual(['dashboard', 'grafana', 'producer', 'prometheus', 'redis', 'secrets', 'worker']);
    for (const role of ['producer', 'worker', 'dashboard']) {
      const command = services[role].command!;
      // Node itself as the container's process, so SIGTERM reaches it.
      expect(command[0]).toBe('node');
      // The npm script execs the same command (`exec node …`), so that npm's own SIGTERM reaches it too.
      expect(`exec ${command.join(' ')}`).toBe(scripts[role]);
      expect(services[role].environment?.REDIS_URL).toBe('redis://redis:6379');
      expect(services[role].image).toBe('chunkmill:local');
    }
  });

  it("checks every role's health on its /readyz; what depends on a role waits until it is healthy", () => {
    const readyzPort: Record<string, string> = {
      producer: services.producer.environment!.PORT,
      worker: services.worker.environment!.WORKER_METRICS_PORT,
      dashboard: services.dashboard.environment!.DASHBOARD_PORT,
    };
    for (const [role, port] of Object.entries(readyzPort)) {
      const check = services[role].healthcheck!;
      // The image has no curl: Node's fetch, exit 0 only for a 2xx.
      expect(check.test).toEqual([
        'CMD',
        'node',
        '-e',
        `fetch('http://127.0.0.1:${port}/readyz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))`,
      ]);
      expect(check.start_period).toBeDefined();
      expect(services[role].depends_on!.redis).toEqual({ condition: 'service_healthy' });
    }
    expect(services.redis.healthcheck!.test).toEqual(['CMD', 'redis-cli', 'ping']);
    expect(services.prometheus.depends_on).toEqual({
      producer: { condition: 'service_healthy' },
      dashboard: { condition: 'service_healthy' },
      worker: { condition: 'service_healthy' },
    });
    expect(services.dashboard.depends_on!.secrets).toEqual({ condition: 'service_completed_successfully' });
  });

  it('sizes a worker replica to one process and one thread by default, so that `--scale worker=N` uses N cores', () => {
    expect(services.worker.environment!.WORKER_PROCESSES).toBe('1');
    expect(services.worker.environment!.WORKER_THREADS).toBe('1');
    const compose = read('docker-compose.yml');
    // Passed through: `WORKER_THREADS=4 docker compose up` makes bigger replicas.
    for (const variable of ['WORKER_PROCESSES', 'WORKER_THREADS']) expect(compose).toContain(`${variable}: \${${variable}:-1}`);
    // The shutdown grace stays below the time Docker gives a stopping container.
    expect(Number(services.worker.environment!.SHUTDOWN_GRACE_MS)).toBeLessThan(Number.parseInt(String(services.worker.stop_grace_period), 10) * 1000);
  });

  it('runs Redis with AOF and noeviction', () => {
    const command = services.redis.command!.join(' ');
    expect(command).toContain('--appendonly yes');
    expect(command).toContain('--maxmemory-policy noeviction');
  });

  it('publishes the ports the roles listen on; workers scale (no host port) and expose their metrics', () => {
    const published = (service: ComposeService) => (service.ports ?? []).map((port) => [portOf(port).published, portOf(port).target]);
    expect(published(services.producer)).toEqual([[3000, Number(services.producer.environment!.PORT)]]);
    expect(published(services.dashboard)).toEqual([[3001, Number(services.dashboard.environment!.DASHBOARD_PORT)]]);
    expect(services.worker.ports ?? []).toEqual([]);
    // Replicas need distinct names: no container_name, and WORKER_ID left to each container's hostname.
    expect((services.worker as { container_name?: string }).container_name).toBeUndefined();
    expect(services.worker.environment?.WORKER_ID).toBeUndefined();
    expect(services.worker.environment?.WORKER_QUEUES).toBe('compute,fetch');
    const metricsPort = Number(services.worker.environment!.WORKER_METRICS_PORT);
    expect((services.worker.expose ?? []).map(Number)).toContain(metricsPort);

    const prometheus = yaml(read('deploy/prometheus/prometheus.yml'));
    const jobs = Object.fromEntries(prometheus.scrape_configs.map((job: any) => [job.job_name, job]));
    expect(jobs['chunkmill-worker'].dns_sd_configs).toEqual([expect.objectContaining({ names: ['worker'], type: 'A', port: metricsPort })]);
    expect(jobs['chunkmill-dashboard'].static_configs[0].targets).toEqual([`dashboard:${services.dashboard.environment!.DASHBOARD_PORT}`]);
    expect(jobs['chunkmill-producer'].static_configs[0].targets).toEqual([`producer:${services.producer.environment!.PORT}`]);
    expect(jobs['chunkmill-producer'].authorization).toEqual({ type: 'Bearer', credentials_file: 'secrets/metrics-token' });
  });

  it('provisions Grafana from files: the datasource the dashboard uses, the dashboard JSON', () => {
    expect(services.prometheus.volumes!.some((volume) => volume.includes('deploy/prometheus/prometheus.yml:/etc/prometheus/prometheus.yml'))).toBe(true);
    expect(services.grafana.volumes!.some((volume) => volume.includes('deploy/grafana/provisioning:/etc/grafana/provisioning'))).toBe(true);
    expect(services.grafana.volumes!.some((volume) => volume.includes('deploy/grafana/dashboards:/var/lib/grafana/dashboards'))).toBe(true);
    const datasource = yaml(read('deploy/grafana/provisioning/datasources/prometheus.yml')).datasources[0];
    expect(datasource).toMatchObject({ type: 'prometheus', url: 'http://prometheus:9090' });
    const provider = yaml(read('deploy/grafana/provisioning/dashboards/chunkmill.yml')).providers[0];
    expect(provider.options.path).toBe('/var/lib/grafana/dashboards');

    const dashboard = JSON.parse(read('deploy/grafana/dashboards/chunkmill.json'));
    const exprs: string[] = dashboard.panels
      .filter((panel: any) => panel.type !== 'row')
      .flatMap((panel: any) => {
        expect(panel.datasource.uid).toBe(datasource.uid);
        return panel.targets.map((target: any) => target.expr);
      });
    const all = exprs.join('\n');
    for (const needed of [
      'chunkmill_items_total{outcome="succeeded"}', // throughput by type and task
      'histogram_quantile(0.5, sum by (le) (rate(chunkmill_chunk_run_seconds_bucket',
      'histogram_quantile(0.95, sum by (le) (rate(chunkmill_chunk_run_seconds_bucket',
      'histogram_quantile(0.99, sum by (le) (rate(chunkmill_chunk_run_seconds_bucket',
      'chunkmill_queue_wait_seconds_bucket',
      'chunkmill_queue_jobs',
      'outcome=~"failed|retried"',
      'sum by (worker_id) (rate(chunkmill_items_total', // per-host throughput, by WORKER_ID
      'chunkmill_thread_busy_seconds_total',
      'sum by (worker_id) (chunkmill_worker_threads_busy)',
      'max by (worker_id) (chunkmill_nodejs_eventloop_lag_p99_seconds',
      'sum by (worker_id, reason) (rate(chunkmill_chunks_handed_back_total',
      'sum by (method, route, status) (rate(chunkmill_http_requests_total', // the API
      'histogram_quantile(0.95, sum by (le, method, route) (rate(chunkmill_http_request_duration_seconds_bucket',
    ]) {
      expect(all).toContain(needed);
    }
    // A host's series are told apart by its worker id, never by its address (which replicas may swap).
    expect(all).not.toContain('instance');
  });

  it('builds one multi-stage, non-root image with only production dependencies in the final stage', () => {
    const dockerfile = read('Dockerfile');
    const stages = dockerfile.split(/^FROM /m).slice(1);
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(stages.every((stage) => stage.startsWith('node:20-bookworm-slim'))).toBe(true);
    // The manifests alone first (workspaces' package.json files too), so that `npm ci` is cached across source changes.
    const manifests = stages.find((stage) => stage.startsWith('node:20-bookworm-slim AS manifests'))!;
    expect(manifests).toMatch(/! -name package\.json ! -name package-lock\.json -delete/);
    const build = stages.find((stage) => stage.startsWith('node:20-bookworm-slim AS build'))!;
    expect(build).toContain('COPY --from=manifests /app ./');
    // No install scripts (a `prepare` would build before the sources are there); then the build, explicitly.
    expect(build).toMatch(/RUN npm ci --ignore-scripts[^\n]*\nCOPY \. \.\nRUN npm run build\n/);
    const final = stages[stages.length - 1];
    expect(final).toContain('npm ci --omit=dev --ignore-scripts');
    expect(final).toMatch(/^USER node$/m);
    expect(final).toContain('COPY --from=build /app/dist ./dist');
    expect(final).toContain('src/dashboard/live-page');
  });
});
