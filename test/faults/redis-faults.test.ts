/**
 * Fault scenarios 8 to 11: the Redis server itself fails. Killed with -9 under load and restarted on
 * its data (AOF everysec), full (maxmemory, noeviction), gone, or never there, while the roles are asked to stop. A
 * submission is either accepted (202) and then completes, or refused with a fast 503 and leaves nothing
 * behind; a role asked to stop stops, Redis or not. Each scenario starts its own redis-server; the shared
 * test Redis is never touched.
 */
import { expectValues } from '../utils/exactly-once-audit';
import { eventually } from '../utils/chunkmill-harness';
import { FaultCluster } from '../utils/fault-cluster';
import { spawnRole } from '../utils/role-process';
import { freePort } from '../../src/core/redis-server';

jest.setTimeout(120_000);

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface Submission {
  status: number;
  code?: string;
  ms: number;
  at: number;
}

/** Submits small workloads back to back (every `pauseMs`) until stopped; remembers every answer. */
function submitLoop(cluster: FaultCluster, pauseMs: number) {
  const answers: Submission[] = [];
  let running = true;
  let n = 0;
  const done = (async () => {
    while (running) {
      n++;
      const inputs = [n, n + 1, n + 2, n + 3, n + 4];
      const started = Date.now();
      const answer = await cluster
        .submit({ type: 'compute', task: 'sumSquares', inputs, chunkSize: 2 }, expectValues(inputs.map(sumSquares)))
        .catch((error: Error) => ({ status: 0, body: { error: { code: error.message } } }));
      answers.push({ status: answer.status, code: answer.body?.error?.code, ms: Date.now() - started, at: started });
      await sleep(pauseMs);
    }
  })();
  return {
    answers,
    async stop(): Promise<void> {
      running = false;
      await done;
    },
  };
}

const sumSquares = (n: number): number => ((n - 1) * n * (2 * n - 1)) / 6;

describe('fault scenarios: Redis fails', () => {
  let cluster: FaultCluster | undefined;
  afterEach(async () => {
    await cluster?.close();
    cluster = undefined;
  });

  it('8. kill -9 of Redis under load, restarted on its data: every 202 completes, the outage gets fast 503s, workers resume by themselves', async () => {
    cluster = await FaultCluster.start('s8');
    const workerPids = cluster.workerLines((line) => line.msg === 'worker process ready').map((line) => line.pid);
    const load = submitLoop(cluster, 20);
    await sleep(2000);
    const killedAt = Date.now();
    await cluster.redis.stop({ hard: true });
    await sleep(3000);
    const restartedAt = Date.now();
    await cluster.redis.start();
    await sleep(3000);
    await load.stop();

    const during = load.answers.filter((answer) => answer.at > killedAt + 100 && answer.at + answer.ms < restartedAt);
    expect(during.length).toBeGreaterThan(10);
    for (const answer of during) {
      expect(answer).toMatchObject({ status: 503, code: 'REDIS_UNAVAILABLE' });
      expect(answer.ms).toBeLessThan(1000);
    }
    expect(load.answers.every((answer) => answer.status === 202 || answer.status === 503)).toBe(true);
    expect(load.answers.filter((answer) => answer.status === 202 && answer.at > restartedAt).length).toBeGreaterThan(0);

    const audit = await cluster.ledger.audit('8 kill -9 Redis under load');
    expect(audit).toMatchObject({ lost: 0, countedTwice: 0, problems: [] });
    // A submission cut off by the kill (record written, jobs not) was answered 503; its rollback is
    // retried by the producer until Redis is back, so nothing of it is left.
    await eventually(async () => (await cluster!.ledger.unaccepted()).workloads.length === 0, 10_000, 250).catch(() => undefined);
    expect(await cluster.ledger.unaccepted()).toEqual({ workloads: [], jobs: [] });
    // The same worker processes carried on: none died, none was restarted.
    expect(cluster.deaths()).toEqual([]);
    expect(cluster.workerLines((line) => line.msg === 'worker process ready').map((line) => line.pid)).toEqual(workerPids);
  });

  it('9. Redis full: submissions get 503 and no workload is half-enqueued; the accepted ones complete', async () => {
    cluster = await FaultCluster.start('s9', { redisArgs: ['--maxmemory', '4mb'], workers: 0 });
    const answers: Submission[] = [];
    let refusedInARow = 0;
    for (let n = 1; refusedInARow < 10 && n < 2000; n++) {
      const inputs = Array.from({ length: 400 }, (_, index) => (n * 7 + index) % 5000);
      const started = Date.now();
      const answer = await cluster.submit({ type: 'compute', task: 'sumSquares', inputs, chunkSize: 4 }, expectValues(inputs.map(sumSquares)));
      answers.push({ status: answer.status, code: answer.body?.error?.code, ms: Date.now() - started, at: started });
      refusedInARow = answer.status === 202 ? 0 : refusedInARow + 1;
    }
    expect(answers.filter((answer) => answer.status === 202).length).toBeGreaterThan(0);
    expect(refusedInARow).toBe(10);
    for (const answer of answers) {
      if (answer.status !== 202) expect(answer).toMatchObject({ status: 503, code: 'REDIS_UNAVAILABLE' });
    }
    expect(await cluster.ledger.unaccepted()).toEqual({ workloads: [], jobs: [] });

    // Room again: a worker computes everything that was accepted.
    await cluster.connect().config('SET', 'maxmemory', '0');
    await cluster.startWorker();
    const audit = await cluster.ledger.audit('9 Redis full (maxmemory)');
    expect(audit).toMatchObject({ lost: 0, countedTwice: 0, problems: [] });
  });

  it('10. Redis gone for good: SIGTERM still stops the producer, the dashboard and a worker host (within its grace period and seconds), exit 0', async () => {
    cluster = await FaultCluster.start('s10');
    const dashboard = spawnRole('dashboard', { env: { REDIS_URL: cluster.redis.url, DASHBOARD_PORT: '0', HOST: '127.0.0.1' } });
    try {
      await dashboard.waitForLog((line) => line.msg === 'dashboard listening');
      await cluster.redis.stop({ hard: true });
      // Every connection has noticed and is trying to reconnect.
      await sleep(1000);
      const started = Date.now();
      const roles = [cluster.producer, dashboard, ...cluster.workers];
      // stop() SIGKILLs a role still there after 20 s: an exit by signal is a role that hung.
      const exits = await Promise.all(roles.map((role) => role.stop('SIGTERM', 20_000)));
      expect(exits).toEqual(roles.map(() => ({ code: 0, signal: null })));
      // The worker host: SHUTDOWN_GRACE_MS (5 s here) for chunks and Redis, then 2 s to hand chunks back and 2 s of clean-up at most.
      expect(Date.now() - started).toBeLessThan(12_000);
    } finally {
      await dashboard.stop('SIGKILL', 5_000);
    }
  });

  it('11. Redis never there: a producer and a worker host asked to stop while they wait for it stop within seconds, exit 0', async () => {
    const env = { REDIS_URL: `redis://127.0.0.1:${await freePort()}`, PORT: '0', HOST: '127.0.0.1', WORKER_PROCESSES: '1', WORKER_METRICS_PORT: '0' };
    const producer = spawnRole('producer', { env });
    const worker = spawnRole('worker', { env });
    try {
      await worker.waitForLog((line) => line.msg === 'worker process forked');
      // Its first line (a connection error) comes from inside its start-up: its signal handlers are in place.
      // Without this wait a loaded machine may still be loading the producer's modules when SIGTERM comes.
      await producer.waitForLog(() => true);
      await sleep(1000);
      const started = Date.now();
      const exits = await Promise.all([producer, worker].map((role) => role.stop('SIGTERM', 30_000)));
      expect(exits).toEqual([
        { code: 0, signal: null },
        { code: 0, signal: null },
      ]);
      // The host waits 3 s for its own start-up, then its child as long, then 2 s of clean-up at most.
      expect(Date.now() - started).toBeLessThan(12_000);
    } finally {
      await Promise.all([producer, worker].map((role) => role.stop('SIGKILL', 5_000)));
    }
  });
});
