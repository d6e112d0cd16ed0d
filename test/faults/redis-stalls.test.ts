/**
 * Fault scenarios 17 to 19: Redis stalls (SIGSTOP, then SIGCONT): what a long GC pause, a frozen VM or a
 * partition looks like from outside. The socket stays open and nothing answers.
 * - 12: the scenario's one redis-server, stalled 15 s under load. Every request answers within 5 s: a 503
 *   REDIS_UNAVAILABLE with Retry-After during the stall (REDIS_COMMAND_TIMEOUT_MS), not a hang; every 202
 *   completes, and the workers wait for Redis and carry on (no process restarted).
 * - 13, 14: a 3 + 3 Redis Cluster (`cluster-node-timeout 2000`, `min-replicas-to-write 1`) with the master
 *   of the compute queue's slot (13) or of the workload index (14) stalled 30 s under load, with
 *   REDIS_WAIT_REPLICAS=1. Its replica is promoted within seconds; the clients follow the new slot map and
 *   drop the frozen node, whose late writes are refused or thrown away when it wakes as a replica.
 * Every scenario audits every accepted item (lost, counted twice) and reports its slowest request.
 */
import { Keys } from '../../src/core/keys';
import { eventually } from '../utils/chunkmill-harness';
import { FaultCluster } from '../utils/fault-cluster';
import { redisClusterToolsInstalled, type LocalRedisCluster } from '../utils/redis-cluster';
import { RequestLoad, type TimedAnswer } from '../utils/request-load';

jest.setTimeout(150_000);

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The promise: no request waits longer than this, stall or not. */
const SLOWEST_ALLOWED_MS = 5_000;

const describeWithRedisCli = redisClusterToolsInstalled() ? describe : describe.skip;

function show(answers: TimedAnswer[]): string {
  return answers
    .slice(0, 10)
    .map((answer) => JSON.stringify(answer))
    .join('\n');
}

/** No request slower than SLOWEST_ALLOWED_MS (the slowest ones are shown when it fails). */
function expectAllFast(load: RequestLoad): void {
  const slow = load.answers.filter((answer) => answer.ms >= SLOWEST_ALLOWED_MS);
  expect(show(slow)).toBe('');
}

describe('fault scenarios: Redis stalls', () => {
  let cluster: FaultCluster | undefined;
  afterEach(async () => {
    await cluster?.close();
    cluster = undefined;
  });

  const scenario17 =
    '17. a single Redis stalled 15 s under load: every request answers within 5 s (503 with Retry-After while it is frozen), ' +
    'every 202 completes, no role restarted';
  it(scenario17, async () => {
    cluster = await FaultCluster.start('s12');
    const redisPid = cluster.redis.pid!;
    const workerPids = cluster.workerLines((line) => line.msg === 'worker process ready').map((line) => line.pid);
    const load = new RequestLoad(cluster);
    let stalledAt = 0;
    let resumedAt = 0;
    try {
      await sleep(2_000);
      stalledAt = Date.now();
      process.kill(redisPid, 'SIGSTOP');
      await sleep(15_000);
    } finally {
      process.kill(redisPid, 'SIGCONT');
      resumedAt = Date.now();
    }
    await sleep(4_000);
    await load.stop();

    // Sent while Redis was frozen: a fast 503 REDIS_UNAVAILABLE that says when to come back.
    const during = load.between(stalledAt + 50, resumedAt);
    expect(during.length).toBeGreaterThan(20);
    expect(show(during.filter((answer) => answer.status !== 503 || answer.code !== 'REDIS_UNAVAILABLE' || answer.retryAfter !== '2'))).toBe('');
    expectAllFast(load);
    expect(load.answers.filter((answer) => answer.kind === 'submit' && answer.status === 202 && answer.at > resumedAt).length).toBeGreaterThan(0);
    expect(load.answers.every((answer) => [200, 202, 503].includes(answer.status))).toBe(true);

    const audit = await cluster.ledger.audit('17 Redis stalled 15 s under load');
    expect(audit).toMatchObject({ lost: 0, countedTwice: 0, problems: [] });
    // A refused submission whose writes Redis ran on waking was rolled back after them, in order.
    await eventually(async () => (await cluster!.ledger.unaccepted()).workloads.length === 0, 10_000, 250).catch(() => undefined);
    expect(await cluster.ledger.unaccepted()).toEqual({ workloads: [], jobs: [] });
    expect(cluster.deaths()).toEqual([]);
    expect(cluster.workerLines((line) => line.msg === 'worker process ready').map((line) => line.pid)).toEqual(workerPids);
    process.stdout.write(
      `scenario 17: ${load.answers.length} requests, ${during.length} during the stall (all 503), slowest ${JSON.stringify(load.slowest)}\n`,
    );
  });

  describeWithRedisCli('on a 3 + 3 Redis Cluster', () => {
    /** A prefix whose compute queue and workload index live on different masters, so that each scenario stalls only one of them. */
    const splitPrefix = async (redisCluster: LocalRedisCluster | undefined): Promise<string> => {
      for (let n = 0; ; n++) {
        const keys = new Keys(`chunkmill-${n}`);
        if ((await redisCluster!.masterOf(computeQueueKey(keys))) !== (await redisCluster!.masterOf(keys.workloadIndex))) return keys.prefix;
      }
    };
    const computeQueueKey = (keys: Keys): string => `${keys.bullPrefix}:${keys.queueName('compute')}:meta`;

    const stallMasterUnderLoad = async (scenario: string, victimKey: (keys: Keys) => string): Promise<void> => {
      cluster = await FaultCluster.start(scenario.split(' ')[0], {
        redisCluster: { replicasPerMaster: 1, minReplicasToWrite: 1 },
        prefix: splitPrefix,
        env: { REDIS_WAIT_REPLICAS: '1' },
      });
      const redisCluster = cluster.redisCluster!;
      const victim = await redisCluster.masterOf(victimKey(new Keys(cluster.prefix)));
      const load = new RequestLoad(cluster);
      await sleep(2_000);
      const stalledAt = Date.now();
      const { resumed } = redisCluster.stall(victim, 30_000);
      const promoted = await redisCluster.waitForFailover(victim, 25_000);
      const failoverMs = Date.now() - stalledAt;
      await resumed;
      const resumedAt = Date.now();
      // The old master rejoins as a replica of the new one; with min-replicas-to-write 1 the shard takes writes again once it is in sync.
      await eventually(() => load.answers.some((answer) => answer.kind === 'submit' && answer.status === 202 && answer.at > resumedAt), 20_000, 200).catch(
        () => undefined,
      );
      await sleep(2_000);
      await load.stop();

      expectAllFast(load);
      expect(load.answers.every((answer) => [200, 202, 503].includes(answer.status))).toBe(true);
      expect(load.answers.filter((answer) => answer.status === 503).every((answer) => answer.code === 'REDIS_UNAVAILABLE' && answer.retryAfter === '2')).toBe(
        true,
      );
      expect(load.answers.filter((answer) => answer.kind === 'submit' && answer.status === 202 && answer.at > resumedAt).length).toBeGreaterThan(0);
      const audit = await cluster.ledger.audit(scenario, 75_000);
      const refused = load.answers.filter((answer) => answer.kind === 'submit' && answer.status === 503).length;
      process.stdout.write(
        `scenario ${scenario}: failover after ${failoverMs} ms (${victim} -> ${promoted}); ${load.answers.length} requests, ` +
          `${refused} submissions refused (503), slowest ${JSON.stringify(load.slowest)}; lost ${audit.lost}, counted twice ${audit.countedTwice}\n` +
          (audit.problems.length > 0 ? `${audit.problems.join('\n')}\n` : ''),
      );
      expect(audit).toMatchObject({ lost: 0, countedTwice: 0, problems: [] });
    };

    it('18. the master of the compute queue stalled 30 s under load: lost 0, counted twice 0, every workload final, no request slower than 5 s', async () => {
      await stallMasterUnderLoad('18 cluster: compute queue master stalled 30 s', computeQueueKey);
    });

    it('19. the master of the workload index stalled 30 s under load: lost 0, counted twice 0, every workload final, no request slower than 5 s', async () => {
      await stallMasterUnderLoad('19 cluster: workload index master stalled 30 s', (keys) => keys.workloadIndex);
    });
  });
});
