/**
 * Two worker hosts as separate process trees (own WORKER_IDs, own metrics addresses 127.0.0.2 and
 * 127.0.0.3) share one Redis. Mid-workload one host is SIGKILLed whole (its process group: the
 * primary and every child), as when a machine loses power. The other host finishes every item exactly
 * once: the dead host's chunks come back after LOCK_DURATION_MS + STALLED_INTERVAL_MS (BullMQ's
 * stalled check), and `GET /v1/workers` drops the dead host within 3 × WORKER_HEARTBEAT_MS.
 *
 * Twice: with each host's metrics on its own loopback address (works on every machine), and with each
 * host in its own network namespace joined by a veth pair (`ip netns`, like separate machines on a
 * link: Redis reached at the link's address). The namespace variant needs CAP_SYS_ADMIN and is skipped,
 * with the reason, when `ip netns add` fails.
 */
import { spawnSync } from 'node:child_process';
import { Pool } from '../../src/sdk';
import { eventually } from '../utils/chunkmill-harness';
import { expectValues } from '../utils/exactly-once-audit';
import { FaultCluster } from '../utils/fault-cluster';
import { NetworkNamespace, networkNamespacesAvailable } from '../utils/network-namespace';
import type { RoleProcess } from '../utils/role-process';

const HEARTBEAT_MS = 500;

/** The cluster children of a worker host's primary. */
const childrenOf = (pid: number): number[] =>
  spawnSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' })
    .stdout.split('\n')
    .filter(Boolean)
    .map(Number);

/** Where the hosts run: the address each host's metrics listen on, and how its process is started. */
interface Placement {
  /** The scenario's name in the fault summary table. */
  label: string;
  metricsAddress: Record<'host-a' | 'host-b' | 'host-c', string>;
  /** REDIS_URL for a host, given the port of the scenario's redis-server. */
  redisUrl?: (host: string, port: number) => string;
  wrap?: (host: string) => string[] | undefined;
  redisArgs?: string[];
}

const netNamespaceOf = (pid: number | 'self'): string => spawnSync('readlink', [`/proc/${pid}/ns/net`], { encoding: 'utf8' }).stdout.trim();

function killOneHostScenario(placement: () => Placement): void {
  let cluster: FaultCluster;
  const hosts: Record<string, RoleProcess> = {};
  let where: Placement;

  const startHost = (id: 'host-a' | 'host-b' | 'host-c', env: Record<string, string> = {}) =>
    cluster.startWorker(
      {
        WORKER_ID: id,
        HOST: where.metricsAddress[id],
        ...(where.redisUrl ? { REDIS_URL: where.redisUrl(id, cluster.redis.options.port) } : {}),
        ...env,
      },
      where.wrap?.(id),
    );

  beforeAll(async () => {
    where = placement();
    cluster = await FaultCluster.start('hosts', { workers: 0, env: { WORKER_HEARTBEAT_MS: String(HEARTBEAT_MS) }, redisArgs: where.redisArgs });
    hosts['host-a'] = await startHost('host-a');
    hosts['host-b'] = await startHost('host-b');
  }, 60_000);
  afterAll(async () => {
    await cluster?.close();
  });

  it('lists both hosts, each with its own metrics address', async () => {
    const workers = await new Pool({ url: cluster.api.baseUrl }).workers();
    expect(workers.map((worker) => worker.id)).toEqual(['host-a', 'host-b']);
    for (const worker of workers) {
      expect(worker).toMatchObject({ queues: ['compute', 'fetch'], processes: 2, threads: 1, pid: hosts[worker.id].pid });
      expect(worker.expiresAt - worker.lastSeenAt).toBe(3 * HEARTBEAT_MS);
    }
    if (where.wrap) {
      // Each host in a network namespace of its own, neither of them this one.
      const spaces = [netNamespaceOf('self'), netNamespaceOf(hosts['host-a'].pid), netNamespaceOf(hosts['host-b'].pid)];
      expect(spaces.every((space) => /^net:\[\d+\]$/.test(space))).toBe(true);
      expect(new Set(spaces).size).toBe(3);
    }
    for (const id of ['host-a', 'host-b'] as const) {
      const { port } = await hosts[id].waitForLog((line) => line.msg === 'worker metrics listening');
      const metrics = await fetch(`http://${where.metricsAddress[id]}:${Number(port)}/metrics`);
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

    await eventually(
      async () => {
        const listed = await cluster.api.get('/v1/workers');
        return listed.status === 200 && listed.body.workers.length === 1;
      },
      10_000,
      100,
    );
    const droppedAfterMs = Date.now() - killedAt;
    expect(droppedAfterMs).toBeLessThanOrEqual(3 * HEARTBEAT_MS + 2_000);
    expect((await cluster.api.get('/v1/workers')).body.workers.map((worker: { id: string }) => worker.id)).toEqual(['host-b']);

    const audit = await cluster.ledger.audit(`worker host SIGKILLed whole mid-workload (${where.label})`, 60_000);
    expect(audit.problems).toEqual([]);
    expect(audit.lost + audit.countedTwice).toBe(0);
    // Both hosts really ran items: the dead one before the kill, the survivor (also) the rest.
    const survivorChildren = new Set(childrenOf(hosts['host-b'].pid));
    const starts = cluster.starts();
    expect(starts.some((start) => victimChildren.includes(start.pid))).toBe(true);
    expect(starts.some((start) => survivorChildren.has(start.pid))).toBe(true);
    process.stdout.write(`worker hosts (${where.label}): dead host dropped from /v1/workers after ${droppedAfterMs} ms\n`);
  }, 120_000);

  it('runs a host for one kind of work only (WORKER_QUEUES=fetch takes no compute chunk)', async () => {
    // WORKER_THREADS=3 is not used on a fetch-only host: its pool keeps one idle thread.
    const fetchOnly = await startHost('host-c', { WORKER_QUEUES: 'fetch', WORKER_THREADS: '3' });
    await eventually(async () => (await cluster.api.get('/v1/workers')).body.workers.length === 2, 10_000, 100);
    const listed = await cluster.api.get('/v1/workers');
    expect(listed.body.workers.map((worker: { id: string; queues: string[]; threads: number }) => [worker.id, worker.queues, worker.threads])).toEqual([
      ['host-b', ['compute', 'fetch'], 1],
      ['host-c', ['fetch'], 1],
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
}

describe('two worker hosts on their own loopback addresses, one killed whole mid-workload', () => {
  killOneHostScenario(() => ({ label: 'loopback addresses', metricsAddress: { 'host-a': '127.0.0.2', 'host-b': '127.0.0.3', 'host-c': '127.0.0.4' } }));
});

const namespaces = networkNamespacesAvailable();
const describeWithNamespaces = namespaces.ok ? describe : describe.skip;

describeWithNamespaces(
  `two worker hosts in their own network namespaces, one killed whole mid-workload${namespaces.ok ? '' : ` (skipped: ${namespaces.reason})`}`,
  () => {
    const links: Record<string, NetworkNamespace> = {};
    afterAll(() => {
      for (const link of Object.values(links)) link.close();
    });
    killOneHostScenario(() => {
      ['host-a', 'host-b', 'host-c'].forEach((id, index) => (links[id] = NetworkNamespace.create(Math.floor(Math.random() * 4000) * 4 + index)));
      return {
        label: 'network namespaces',
        metricsAddress: { 'host-a': links['host-a'].innerAddress, 'host-b': links['host-b'].innerAddress, 'host-c': links['host-c'].innerAddress },
        redisUrl: (id, port) => `redis://${links[id].outerAddress}:${port}`,
        wrap: (id) => links[id].exec,
        // Redis answers on the machine's end of every link, as a Redis on another machine would.
        redisArgs: ['--bind', '127.0.0.1', ...Object.values(links).map((link) => link.outerAddress), '--protected-mode', 'no'],
      };
    });
  },
);
