/**
 * Fault scenarios 1, 2, 3 and 7: worker processes that die, freeze or are stopped in the middle of a
 * chunk. Each scenario runs against its own redis-server with real producer and worker processes; at
 * the end every accepted item must be stored exactly once with its exact value.
 */
import { expectValues } from '../utils/exactly-once-audit';
import { FaultCluster, isAlive, signalProcess } from '../utils/fault-cluster';

jest.setTimeout(90_000);

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A spinEcho workload: item i spins `ms[i]` and answers `base + i`. */
function spinWorkload(ms: number[], base: number, options: { tags?: Record<number, string>; chunkSize?: number; attempts?: number } = {}) {
  const inputs = ms.map((spin, index) => ({ ms: spin, value: base + index, ...(options.tags?.[index] ? { tag: options.tags[index] } : {}) }));
  return {
    body: { type: 'compute', task: 'spinEcho', inputs, chunkSize: options.chunkSize ?? 1, attempts: options.attempts ?? 1 },
    expected: expectValues(inputs.map((input) => input.value)),
  };
}

describe('fault scenarios: worker processes', () => {
  let cluster: FaultCluster | undefined;
  afterEach(async () => {
    await cluster?.close();
    cluster = undefined;
  });

  it('1. SIGKILL of a worker process mid-chunk: re-forked, chunk re-run, every item counted once', async () => {
    cluster = await FaultCluster.start('s1');
    // attempts: 1 — a dead worker's chunk is re-run through BullMQ's stall handling, not by using up an attempt.
    const slow = spinWorkload([3000, 20, 200, 200, 200, 200], 100, { tags: { 0: 'victim' }, chunkSize: 2 });
    expect((await cluster.submit(slow.body, slow.expected)).status).toBe(202);
    const victim = await cluster.waitForStart('victim');
    await sleep(1000);
    expect(signalProcess(victim, 'SIGKILL')).toBe(true);
    // Work accepted while a process is down is not lost either.
    const during = { type: 'compute', task: 'sumSquares', inputs: [10, 2000, 100_000, 7], chunkSize: 1 };
    expect((await cluster.submit(during, expectValues([285, 2664667000, 333328333350000, 91]))).status).toBe(202);

    const worker = cluster.workers[0];
    await worker.waitForLog((line) => line.msg === 'worker process died; forking a new one' && line.childPid === victim);
    await worker.waitForLog((line) => line.msg === 'worker process ready', 20_000, 3);
    const rerun = await cluster.waitForStart('victim', 2);
    expect(rerun).not.toBe(victim);

    const audit = await cluster.ledger.audit('1 SIGKILL worker mid-chunk');
    expect(audit).toMatchObject({ lost: 0, countedTwice: 0, problems: [] });
  });

  it('2. SIGKILL after some results of a chunk are written, before its job is done: results stay exact', async () => {
    cluster = await FaultCluster.start('s2');
    const redis = cluster.connect();
    // One chunk: item 0 is recorded at once, item 1 then kills its own process (once) after 500 ms.
    const inputs = [
      { value: 10, waitMs: 0 },
      { value: 11, waitMs: 500, once: 's2' },
      { value: 12, waitMs: 0 },
    ];
    const answer = await cluster.submit({ type: 'compute', task: 'killProcessOnce', inputs, chunkSize: 3, attempts: 1 }, expectValues([10, 11, 12]));
    expect(answer.status).toBe(202);
    const death = await cluster.workers[0].waitForLog((line) => line.msg === 'worker process died; forking a new one');
    expect(death.signal).toBe('SIGKILL');
    // The first run's write landed before the kill: the job is not done, a result is already stored.
    const state = await redis.hgetall(`chunkmill:wl:{${answer.body.id}}:meta`);
    // Chunk 0's stored outcomes (core/results-packing.ts): item 0's slot holds its value.
    const written = await redis.hget(`chunkmill:wl:{${answer.body.id}}:results`, '0');
    if (state.status !== 'completed') expect(written?.split('\n')[0]).toBe('10');

    const audit = await cluster.ledger.audit('2 SIGKILL between write and done');
    expect(audit).toMatchObject({ lost: 0, countedTwice: 0, problems: [] });
  });

  it('3. a worker frozen past its lock (SIGSTOP) then resumed: the chunk is re-run elsewhere, the stale completion is rejected', async () => {
    cluster = await FaultCluster.start('s3');
    const frozen = spinWorkload([3000, 50, 50], 200, { tags: { 0: 'frozen' }, chunkSize: 1 });
    expect((await cluster.submit(frozen.body, frozen.expected)).status).toBe(202);
    const stalePid = await cluster.waitForStart('frozen');
    await sleep(300);
    expect(signalProcess(stalePid, 'SIGSTOP')).toBe(true);
    try {
      // Past the lock (2 s) the other process's stall check hands the chunk over.
      const takeover = await cluster.waitForStart('frozen', 2, 20_000);
      expect(takeover).not.toBe(stalePid);
    } finally {
      signalProcess(stalePid, 'SIGCONT');
    }
    // The resumed process ends its (stale) run at once; its completion must change nothing.
    const after = spinWorkload([20, 20, 20, 20], 300, { chunkSize: 1 });
    expect((await cluster.submit(after.body, after.expected)).status).toBe(202);

    const audit = await cluster.ledger.audit('3 SIGSTOP past the lock, SIGCONT');
    expect(audit).toMatchObject({ lost: 0, countedTwice: 0, problems: [] });
    // BullMQ refused the resumed process's completion (its lock is gone), and nothing crashed.
    await cluster.workers[0].waitForLog(
      (line) => line.pid === stalePid && /Lock mismatch|Missing lock/.test(String((line.err as { message?: string } | undefined)?.message)),
    );
    expect(isAlive(stalePid)).toBe(true);
    expect(cluster.deaths()).toEqual([]);
  });

  it('7. SIGTERM during a chunk: the worker finishes it, or hands it back when the grace ends, and exits 0', async () => {
    cluster = await FaultCluster.start('s7', { workers: 0 });
    const finishing = await cluster.startWorker({ SHUTDOWN_GRACE_MS: '10000' });
    const finish = spinWorkload([1500], 400, { tags: { 0: 'finish' } });
    const finishAnswer = await cluster.submit(finish.body, finish.expected);
    expect(finishAnswer.status).toBe(202);
    await cluster.waitForStart('finish');
    const stopAsked = Date.now();
    finishing.child.kill('SIGTERM');
    expect(await finishing.exited).toEqual({ code: 0, signal: null });
    expect(Date.now() - stopAsked).toBeLessThan(10_000);
    expect((await cluster.api.results(finishAnswer.body.id, 1000)).status).toBe('completed');

    // A chunk longer than the grace period is handed back (its one attempt not used) and run by the next worker.
    const handingBack = await cluster.startWorker({ SHUTDOWN_GRACE_MS: '1000' });
    const long = spinWorkload([5000], 500, { tags: { 0: 'handback' } });
    expect((await cluster.submit(long.body, long.expected)).status).toBe(202);
    await cluster.waitForStart('handback');
    const handBackAsked = Date.now();
    handingBack.child.kill('SIGTERM');
    expect(await handingBack.exited).toEqual({ code: 0, signal: null });
    expect(Date.now() - handBackAsked).toBeLessThan(1000 + 4000);
    await cluster.startWorker();
    await cluster.waitForStart('handback', 2);

    const audit = await cluster.ledger.audit('7 SIGTERM mid-chunk');
    expect(audit).toMatchObject({ lost: 0, countedTwice: 0, problems: [] });
  });
});
