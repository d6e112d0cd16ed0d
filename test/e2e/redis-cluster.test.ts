/**
 * chunkmill on a real 3-master Redis Cluster on loopback: a producer and two worker hosts (separate
 * process trees, different WORKER_IDs) with REDIS_URL=redis+cluster://..., compute and fetch workloads
 * completed exactly, the queues on different masters. Then one master is SIGKILLed (no replicas, no
 * persistence, `cluster-require-full-coverage no`) and the test states what happens:
 * - workloads whose `{id}` slot lived on the dead master answer 503 REDIS_UNAVAILABLE (their data is
 *   gone with it: there was no replica), the others still answer and stay exact;
 * - a submission whose keys would live there is refused with 503 (never a half-written 202);
 * - the queue whose keys lived there (fetch here) refuses new work with 503; the other queue goes on;
 * - restarted empty, the master serves its slots again: its workloads are gone, reported lost (410
 *   WORKLOAD_LOST: the producer that accepted them remembers them), fetch works again.
 */
import { randomBytes } from 'node:crypto';
import { CITIES, WeatherServer, temperatureOf } from '../../bench/lib/weather-server';
import { Keys } from '../../src/core/keys';
import { closeRedis, createRedis, type RedisClient } from '../../src/core/redis-connection';
import { ApiClient } from '../utils/api-client';
import { validatingFetch } from '../utils/openapi-validator';
import { FAULT_TASKS, eventually } from '../utils/chunkmill-harness';
import { ExactlyOnceLedger, expectValues } from '../utils/exactly-once-audit';
import { FAST_FAULT_ENV } from '../utils/fault-cluster';
import { LocalRedisCluster, redisClusterToolsInstalled } from '../utils/redis-cluster';
import { spawnRole, type RoleProcess } from '../utils/role-process';

const sumSquaresBelow = (n: number): number => ((n - 1) * n * (2 * n - 1)) / 6;

const describeWithRedisCli = redisClusterToolsInstalled() ? describe : describe.skip;

describeWithRedisCli('on a 3-master Redis Cluster', () => {
  let cluster: LocalRedisCluster;
  let server: WeatherServer;
  let keys: Keys;
  let producer: RoleProcess;
  let dashboard: RoleProcess;
  let dashboardPort: number;
  const workers: RoleProcess[] = [];
  let api: ApiClient;
  let redis: RedisClient;
  let ledger: ExactlyOnceLedger;
  /** Masters (ports) of the compute queue, the fetch queue and the workload index. */
  const home = { compute: 0, fetch: 0, index: 0 };

  beforeAll(async () => {
    cluster = await LocalRedisCluster.start('e2e', { args: ['--cluster-require-full-coverage', 'no'] });
    server = await new WeatherServer({ delayMs: 20 }).listen();
    // A prefix whose two queues hash to different masters (so the test shows them spread), with the
    // workload index and the open-workloads index (both written by every submission) away from the fetch
    // queue's master (the one killed below).
    for (;;) {
      keys = new Keys(`cmtest-cluster-${randomBytes(3).toString('hex')}`);
      home.compute = await cluster.masterOf(`${keys.bullPrefix}:${keys.queueName('compute')}:meta`);
      home.fetch = await cluster.masterOf(`${keys.bullPrefix}:${keys.queueName('fetch')}:meta`);
      home.index = await cluster.masterOf(keys.workloadIndex);
      const openIndex = await cluster.masterOf(keys.openWorkloads);
      if (home.compute !== home.fetch && home.index !== home.fetch && openIndex !== home.fetch) break;
    }
    const env = {
      ...FAST_FAULT_ENV,
      REDIS_URL: cluster.url,
      CHUNKMILL_PREFIX: keys.prefix,
      CHUNKMILL_TASK_MODULES: FAULT_TASKS,
      FETCH_ALLOW_PRIVATE: 'true',
      WORKER_HEARTBEAT_MS: '500',
      PORT: '0',
      HOST: '127.0.0.1',
    };
    producer = spawnRole('producer', { env });
    const listening = await producer.waitForLog((line) => line.msg === 'producer listening');
    api = new ApiClient(`http://127.0.0.1:${Number(listening.port)}`);
    for (const id of ['cluster-host-a', 'cluster-host-b']) {
      const worker = spawnRole('worker', { env: { ...env, WORKER_ID: id } });
      workers.push(worker);
      await worker.waitForLog((line) => line.msg === 'worker process ready', 30_000, Number(FAST_FAULT_ENV.WORKER_PROCESSES));
    }
    dashboard = spawnRole('dashboard', { env: { ...env, DASHBOARD_PORT: '0' } });
    dashboardPort = Number((await dashboard.waitForLog((line) => line.msg === 'dashboard listening')).port);
    redis = createRedis(cluster.url, 'worker', 'cluster-test');
    redis.on('error', () => undefined);
    ledger = new ExactlyOnceLedger(
      () => api,
      () => redis,
      keys.prefix,
    );
  }, 90_000);

  afterAll(async () => {
    // What went wrong on the producer's side, should an answer have been a 500.
    const unexpected = producer?.lines.filter((line) => line.msg === 'unexpected error') ?? [];
    if (unexpected.length > 0)
      process.stdout.write(
        `producer's unexpected errors:\n${unexpected
          .slice(0, 3)
          .map((line) => JSON.stringify(line.err))
          .join('\n')}\n`,
      );
    await Promise.all([producer, dashboard, ...workers].filter(Boolean).map((role) => role.stop('SIGKILL', 5_000)));
    if (redis) await closeRedis(redis);
    await server?.close();
    await cluster?.close();
  });

  const submitCompute = async (n: number) => {
    const inputs = Array.from({ length: n }, (_, i) => i * 1000);
    const answer = await api.post('/v1/workloads', { type: 'compute', task: 'sumSquares', inputs, chunkSize: 2 });
    if (answer.status === 202) ledger.accept(answer.body.id, expectValues(inputs.map(sumSquaresBelow)));
    return answer;
  };
  const submitFetch = async () => {
    const answer = await api.post('/v1/workloads', { type: 'fetch', urls: CITIES.map((city) => server.weatherUrl(city)), extract: 'main.temp', chunkSize: 4 });
    return answer;
  };
  const accepted: string[] = [];

  it('spreads queues and workloads over the masters and completes compute and fetch workloads exactly', async () => {
    expect(home.compute).not.toBe(home.fetch);
    const fetchIds: string[] = [];
    for (let i = 0; i < 9; i++) {
      const compute = await submitCompute(7 + i);
      expect(compute.status).toBe(202);
      accepted.push(compute.body.id);
      if (i % 3 === 0) {
        const fetched = await submitFetch();
        expect(fetched.status).toBe(202);
        fetchIds.push(fetched.body.id);
      }
    }
    const audit = await ledger.audit('redis cluster: 3 masters, 2 worker hosts', 60_000);
    expect(audit.problems).toEqual([]);
    expect(audit.lost + audit.countedTwice).toBe(0);
    for (const id of fetchIds) {
      const results = await api.get(`/v1/workloads/${id}/results?wait=30000`);
      expect(results.body.status).toBe('completed');
      expect(results.body.results.map((result: { value: number }) => result.value)).toEqual(CITIES.map(temperatureOf));
    }

    // The queues' BullMQ keys really are on their own masters: each master holds only its queue's.
    const queueKeysOn = async (port: number) =>
      cluster.onNode(port, async (node) => (await node.keys(`${keys.prefix}:{*`)).map((key) => key.slice(keys.prefix.length + 1).split(':')[0]));
    expect(new Set(await queueKeysOn(home.compute))).toEqual(new Set([keys.queueName('compute')]));
    expect(new Set(await queueKeysOn(home.fetch))).toEqual(new Set([keys.queueName('fetch')]));
    // Workloads (their `{id}` slots) spread over more than one master.
    const masters = new Set(await Promise.all(accepted.map((id) => cluster.masterOf(keys.workload(id).meta))));
    expect(masters.size).toBeGreaterThan(1);

    const listed = await api.get('/v1/workers');
    expect(listed.status).toBe(200);
    expect(listed.body.workers.map((worker: { id: string }) => worker.id)).toEqual(['cluster-host-a', 'cluster-host-b']);
    for (const worker of listed.body.workers) expect(worker).toMatchObject({ queues: ['compute', 'fetch'], processes: 2, threads: 1 });

    // The dashboard reads both queues and the workloads from the cluster.
    const metrics = await (await fetch(`http://127.0.0.1:${dashboardPort}/metrics`)).text();
    expect(metrics).toMatch(/chunkmill_queue_jobs\{[^}]*queue="compute"/);
    expect(metrics).toMatch(/chunkmill_queue_jobs\{[^}]*queue="fetch"/);
    expect(metrics).toMatch(/chunkmill_workloads\{status="completed"\} (\d+)/);
    expect(Number(/chunkmill_workloads\{status="completed"\} (\d+)/.exec(metrics)![1])).toBe(accepted.length + fetchIds.length);
  }, 120_000);

  it('carries pub/sub across the nodes: SSE events from Lua, and cancellation reaching every worker', async () => {
    const small = await api.post('/v1/workloads', { type: 'compute', task: 'sleep', inputs: [{ ms: 200 }, { ms: 0 }], chunkSize: 1 });
    const checked = validatingFetch();
    const stream = await checked(`${api.baseUrl}/v1/workloads/${small.body.id}/events`);
    const text = await stream.text();
    expect(checked.violations.map((violation) => violation.message)).toEqual([]);
    expect(text).toContain('event: done');
    expect(text).toContain('"status":"completed"');

    // Six 8 s spins fill the hosts' four threads; the cancel message frees them at once.
    const spins = await api.post('/v1/workloads', { type: 'compute', task: 'spin', inputs: new Array(6).fill({ ms: 8000 }), chunkSize: 1 });
    await eventually(async () => (await api.get(`/v1/workloads/${spins.body.id}`)).body.status === 'running', 10_000, 50);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const cancelled = await api.delete(`/v1/workloads/${spins.body.id}`);
    expect([cancelled.status, cancelled.body.status]).toEqual([200, 'cancelled']);
    const started = Date.now();
    const next = await submitCompute(4);
    expect(next.status).toBe(202);
    const results = await api.get(`/v1/workloads/${next.body.id}/results?wait=20000`);
    expect(results.body.status).toBe('completed');
    expect(Date.now() - started).toBeLessThan(6_000);
  }, 60_000);

  it('loses one master: its slots answer 503, the rest stays exact and keeps working', async () => {
    const victim = home.fetch;
    const before = await Promise.all(accepted.map(async (id) => ({ id, master: await cluster.masterOf(keys.workload(id).meta) })));
    await cluster.killNode(victim);
    // The survivors mark the node as failed after cluster-node-timeout (2 s); coverage is not required.
    const survivor = home.compute;
    await eventually(() => cluster.onNode(survivor, async (node) => String(await node.call('CLUSTER', 'NODES')).includes('fail')), 20_000, 200);

    // Workloads accepted before: those stored on the dead master are unreadable (503), the others intact.
    for (const { id, master } of before) {
      const view = await api.get(`/v1/workloads/${id}`);
      if (master === victim) expect([view.status, view.body.error?.code]).toEqual([503, 'REDIS_UNAVAILABLE']);
      else expect([view.status, view.body.status]).toEqual([200, 'completed']);
    }

    // The fetch queue lived there: new fetch work is refused, not half-accepted (the workload index, on
    // a live master, is as it was: a record written before the enqueue failed was rolled back).
    const indexed = await redis.zcard(keys.workloadIndex);
    const fetched = await submitFetch();
    expect([fetched.status, fetched.body.error?.code]).toEqual([503, 'REDIS_UNAVAILABLE']);
    expect(await redis.zcard(keys.workloadIndex)).toBe(indexed);
    // Listing workloads needs every workload's record: with some unreachable it answers 503, not a short list.
    const listing = await api.get('/v1/workloads?limit=100');
    if (before.some(({ master }) => master === victim)) expect([listing.status, listing.body.error?.code]).toEqual([503, 'REDIS_UNAVAILABLE']);
    else expect(listing.status).toBe(200);

    // Compute goes on for workloads whose slots are on the live masters; the others are refused with 503.
    const answers: number[] = [];
    const survivingLedger = new ExactlyOnceLedger(
      () => api,
      () => redis,
      keys.prefix,
    );
    for (let i = 0; i < 12; i++) {
      const answer = await submitCompute(5);
      answers.push(answer.status);
      if (answer.status === 202) {
        expect(await cluster.masterOf(keys.workload(answer.body.id).meta, survivor)).not.toBe(victim);
        survivingLedger.accept(answer.body.id, expectValues(Array.from({ length: 5 }, (_, i) => sumSquaresBelow(i * 1000))));
      } else {
        expect([answer.status, answer.body.error?.code]).toEqual([503, 'REDIS_UNAVAILABLE']);
      }
    }
    expect(answers.filter((status) => status === 202).length).toBeGreaterThan(0);
    const audit = await survivingLedger.audit('redis cluster: one master killed, surviving slots', 60_000);
    expect(audit.problems).toEqual([]);
    expect(audit.lost + audit.countedTwice).toBe(0);
    // Both worker hosts are still alive and listed, unless the registry's own keys lived on the dead master.
    const registryKeys = [keys.workerIndex, keys.worker('cluster-host-a'), keys.worker('cluster-host-b')];
    const registryLost = (await Promise.all(registryKeys.map((key) => cluster.masterOf(key, survivor)))).includes(victim);
    const listed = await api.get('/v1/workers');
    if (registryLost) expect(listed.status).toBe(503);
    else expect(listed.body.workers.map((worker: { id: string }) => worker.id)).toEqual(['cluster-host-a', 'cluster-host-b']);

    // The master comes back on its port with its slots but without its data (no replica, no AOF):
    // what lived there is lost for good, and said so (410 WORKLOAD_LOST), and the fetch queue takes work again.
    await cluster.restartNode(victim);
    const lost = before.find(({ master }) => master === victim);
    if (lost) {
      await eventually(async () => (await api.get(`/v1/workloads/${lost.id}`)).status === 410, 20_000, 200);
      expect((await api.get(`/v1/workloads/${lost.id}`)).body.error.code).toBe('WORKLOAD_LOST');
    }
    let refetched = await submitFetch();
    for (let tries = 0; refetched.status !== 202 && tries < 50; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      refetched = await submitFetch();
    }
    expect(refetched.status).toBe(202);
    const refetchedResults = await api.get(`/v1/workloads/${refetched.body.id}/results?wait=30000`);
    expect(refetchedResults.body.status).toBe('completed');
    expect(refetchedResults.body.results.map((result: { value: number }) => result.value)).toEqual(CITIES.map(temperatureOf));
    process.stdout.write(
      `cluster test: after losing one master, ${answers.filter((s) => s === 202).length}/12 compute submissions accepted and exact, the rest 503\n`,
    );
  }, 120_000);
});
