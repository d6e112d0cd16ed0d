/**
 * Fault scenario 15: Redis is full (maxmemory reached, noeviction) while workers are in the middle of
 * windowed workloads, then room comes back. No role is restarted. Redis refusing writes is an
 * infrastructure failure, not an item failure: chunks are handed back without using their attempts,
 * the reaper and the reconciler retry their own writes, and every accepted item ends with its exact
 * value (no CHUNK_LOST), every workload final. Requests meanwhile are answered at once (503 while full).
 */
import { eventually } from '../utils/chunkmill-harness';
import { expectValues } from '../utils/exactly-once-audit';
import { FaultCluster } from '../utils/fault-cluster';
import { RequestLoad } from '../utils/request-load';

jest.setTimeout(150_000);

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('fault scenarios: Redis full', () => {
  let cluster: FaultCluster | undefined;
  afterEach(async () => {
    await cluster?.close();
    cluster = undefined;
  });

  it('15. Redis full for 10 s under load, then freed, no role restarted: every 202 completes exactly, no CHUNK_LOST, no request slower than 5 s', async () => {
    cluster = await FaultCluster.start('s15', { env: { RECONCILE_INTERVAL_MS: '500', CHUNKS_IN_QUEUE_PER_WORKLOAD: '4' } });
    const workerPids = cluster.workerLines((line) => line.msg === 'worker process ready').map((line) => line.pid);

    // Windowed workloads of slow items: running when Redis fills up, with chunks still to be fed.
    for (let w = 0; w < 4; w++) {
      const values = Array.from({ length: 40 }, (_, index) => w * 1000 + index);
      const answer = await cluster.submit(
        { type: 'compute', task: 'spinEcho', inputs: values.map((value) => ({ ms: 40, value })), chunkSize: 2 },
        expectValues(values),
      );
      expect(answer.status).toBe(202);
    }
    const load = new RequestLoad(cluster, { submitPauseMs: 100, readPauseMs: 200, giveUpMs: 10_000 });
    await sleep(1500);

    const admin = cluster.connect();
    const fullAt = Date.now();
    // Full: every write that could use memory is refused with OOM from here on.
    await admin.config('SET', 'maxmemory', '1');
    await sleep(10_000);
    const freedAt = Date.now();
    await admin.config('SET', 'maxmemory', '0');
    await sleep(3000);
    await load.stop();

    // While full: submissions refused at once with 503, readiness says not ready.
    const whileFull = load.between(fullAt + 200, freedAt);
    expect(whileFull.filter((answer) => answer.kind === 'submit').length).toBeGreaterThan(5);
    for (const answer of whileFull.filter((entry) => entry.kind === 'submit' || entry.kind === 'readyz')) {
      expect(answer).toMatchObject({ status: 503, code: 'REDIS_UNAVAILABLE' });
    }
    expect(load.answers.filter((answer) => answer.kind === 'submit' && answer.status === 202 && answer.at > freedAt).length).toBeGreaterThan(0);
    // Chunks were handed back rather than failed: one info line per hand-back, and what Redis answered in
    // at most one warning per 10 s per worker process, however many chunks it handed back.
    expect(cluster.workerLines((line) => line.msg === 'chunk handed back to the queue' && line.reason === 'redis_unavailable').length).toBeGreaterThan(0);
    const warnings = cluster.workerLines((line) => line.msg === 'Redis failed chunks; handing them back to the queue without using attempts');
    expect(warnings.length).toBeGreaterThan(0);
    for (const pid of new Set(warnings.map((line) => line.pid))) {
      const times = warnings.filter((line) => line.pid === pid).map((line) => Number(line.time));
      for (let i = 1; i < times.length; i++) expect(times[i] - times[i - 1]).toBeGreaterThanOrEqual(10_000);
    }

    const audit = await cluster.ledger.audit('15 Redis full, then freed', 90_000);
    expect(audit).toMatchObject({ lost: 0, countedTwice: 0, problems: [] });
    expect(audit.slowestRequestMs ?? 0).toBeLessThan(5000);
    // Nothing of a refused submission is left once its rollback got through.
    await eventually(async () => (await cluster!.ledger.unaccepted()).workloads.length === 0, 15_000, 250).catch(() => undefined);
    expect(await cluster.ledger.unaccepted()).toEqual({ workloads: [], jobs: [] });
    // The same worker processes carried on.
    expect(cluster.deaths()).toEqual([]);
    expect(cluster.workerLines((line) => line.msg === 'worker process ready').map((line) => line.pid)).toEqual(workerPids);
  });
});
