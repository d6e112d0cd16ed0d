/**
 * Two worker hosts as separate process trees (own WORKER_IDs, own metrics addresses 127.0.0.2 and
 * 127.0.0.3) share one Redis. Mid-workload one host is SIGKILLed whole (its process group: the
 * primary and every child), as when a machine loses power. The other host finishes every item exactly
 * once: the dead host's chunks come back after LOCK_DURATION_MS + STALLED_INTERVAL_MS (BullMQ's
 * stalled check), and `GET /v1/workers` drops the dead host within 3 × WORKER_HEARTBEAT_MS.
 *
 * A network-namespace variant (`ip netns`) would need root (CAP_SYS_ADMIN) to create namespaces and
 * veth links, which a test run normally does not have; distinct loopback addresses are what every
 * machine allows.
 */
import { spawnSync } from 'node:child_process';
import { eventually } from '../utils/chunkmill-harness';
import { expectValues } from '../utils/exactly-once-audit';
import { FaultCluster } from '../utils/fault-cluster';
import type { RoleProcess } from '../utils/role-process';

const HEARTBEAT_MS = 500;

/** The cluster children of a worker host's primary. */
const childrenOf = (pid: number): number[] =>
  spawnSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' })
    .stdout.split('\n')
    .filter(Boolean)
    .map(Number);

describe('two worker hosts, one killed whole mid-workload', () => {
  let cluster: FaultCluster;
  const hosts: Record<string, RoleProcess> = {};

  beforeAll(async () => {
    cluster = await FaultCluster.start('hosts', { workers: 0, env: { WORKER_HEARTBEAT_MS: String(HEARTBEAT_MS) } });
    hosts['host-a'] = await cluster.startWorker({ WORKER_ID: 'host-a', HOST: '127.0.0.2' });
    hosts['host-b'] = await cluster.startWorker({ WORKER_ID: 'host-b', HOST: '127.0.0.3' });
  }, 60_000);
  afterAll(async () => {
    await cluster?.close();
  });

  it('lists both hosts, each with its own metrics address', async () => {
    const listed = await cluster.api.get('/v1/workers');
    expect(listed.status).toBe(200);
    expect(listed.body.workers.map((worker: { id: string }) => worker.id)).toEqual(['host-a', 'host-b']);
    for (const worker of listed.body.workers) {
      expect(worker).toMatchObject({ queues: ['compute', 'fetch'], processes: 2, threads: 1, pid: hosts[worker.id].pid });
      expect(worker.expiresAt - worker.lastSeenAt).toBe(3 * HEARTBEAT_MS);
    }
    for (const [id, address] of [['host-a', '127.0.0.2'], ['host-b', '127.0.0.3']]) {
      const { port } = await hosts[id].waitForLog((line) => line.msg === 'worker metrics listening');
      const metrics = await fetch(`http://${address}:${Number(port)}/metrics`);
      expect(metrics.status).toBe(200);
    }
  });

  it('finishes everything exactly on the surviving host, and drops the dead one from /v1/workers', async () => {
    const values = (workload: number) => Array.from({ length: 16 }, (_, i) => workload * 100 + i);
    for (let workload = 0; workload < 4; workload++) {
      const inputs = values(workload).map((value) => ({ ms: 150, value, tag: `w${workload}` }));
      const answer = await cluster.submit({ type: 'compute', task: 'spinEcho', inputs, chunkSize: 1 }, expectValues(values(workload)));
      expect(answer.status).toBe(202);
    }
    // Kill host A only once it has chunks in hand (its children have started items).
    const victim = hosts['host-a'];
    const victimChildren = childrenOf(victim.pid);
    expect(victimChildren.length).toBe(2);
    await eventually(() => cluster.starts().some((start) => victimChildren.includes(start.pid)), 20_000, 20);
    const killedAt = Date.now();
    victim.signalGroup('SIGKILL');
    await victim.exited;

    await eventually(async () => {
      const listed = await cluster.api.get('/v1/workers');
      return listed.status === 200 && listed.body.workers.length === 1;
    }, 10_000, 100);
    const droppedAfterMs = Date.now() - killedAt;
    expect(droppedAfterMs).toBeLessThanOrEqual(3 * HEARTBEAT_MS + 2_000);
    expect((await cluster.api.get('/v1/workers')).body.workers.map((worker: { id: string }) => worker.id)).toEqual(['host-b']);

    const audit = await cluster.ledger.audit('worker host SIGKILLed whole mid-workload', 60_000);
    expect(audit.problems).toEqual([]);
    expect(audit.lost + audit.countedTwice).toBe(0);
    // Both hosts really ran items: the dead one before the kill, the survivor (also) the rest.
    const survivorChildren = new Set(childrenOf(hosts['host-b'].pid));
    const starts = cluster.starts();
    expect(starts.some((start) => victimChildren.includes(start.pid))).toBe(true);
    expect(starts.some((start) => survivorChildren.has(start.pid))).toBe(true);
    process.stdout.write(`worker hosts: dead host dropped from /v1/workers after ${droppedAfterMs} ms\n`);
  }, 120_000);

  it('runs a host for one kind of work only (WORKER_QUEUES=fetch takes no compute chunk)', async () => {
    const fetchOnly = await cluster.startWorker({ WORKER_ID: 'host-c', WORKER_QUEUES: 'fetch', HOST: '127.0.0.4' });
    await eventually(async () => (await cluster.api.get('/v1/workers')).body.workers.length === 2, 10_000, 100);
    const listed = await cluster.api.get('/v1/workers');
    expect(listed.body.workers.map((worker: { id: string; queues: string[] }) => [worker.id, worker.queues])).toEqual([
      ['host-b', ['compute', 'fetch']],
      ['host-c', ['fetch']],
    ]);
    const values = Array.from({ length: 12 }, (_, i) => 7000 + i);
    const answer = await cluster.submit(
      { type: 'compute', task: 'spinEcho', inputs: values.map((value) => ({ ms: 20, value, tag: 'only-b' })), chunkSize: 1 },
      expectValues(values),
    );
    expect(answer.status).toBe(202);
    const results = await cluster.api.get(`/v1/workloads/${answer.body.id}/results?wait=30000`);
    expect(results.body.results).toEqual(values);
    const fetchOnlyChildren = childrenOf(fetchOnly.pid);
    const ran = cluster.starts().filter((start) => start.tag === 'only-b');
    expect(ran.length).toBeGreaterThanOrEqual(values.length);
    expect(ran.filter((start) => fetchOnlyChildren.includes(start.pid))).toEqual([]);
  }, 60_000);
});
