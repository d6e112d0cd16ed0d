/**
 * Fault scenarios 4, 5 and 6: tasks that throw every time, kill their thread, exhaust the thread's
 * heap or never end. The item fails with its code after its attempts; the worker process and every
 * other item carry on. Each scenario has its own redis-server and real processes.
 */
import fs from 'node:fs';
import { expectValues, type ExpectedItem } from '../utils/exactly-once-audit';
import { FaultCluster } from '../utils/fault-cluster';

jest.setTimeout(90_000);

const failures = (count: number, code: string): ExpectedItem[] => new Array(count).fill({ code });

/** CPU time (user + system, in clock ticks of 10 ms) a process has used so far; Linux only. */
function cpuTicks(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

describe('fault scenarios: tasks that misbehave', () => {
  let cluster: FaultCluster | undefined;
  afterEach(async () => {
    await cluster?.close();
    cluster = undefined;
  });

  it('4. a chunk that always throws fails after its attempts; the workload ends failed with the reason; others are unaffected', async () => {
    cluster = await FaultCluster.start('s4');
    const throwing = await cluster.submit({ type: 'compute', task: 'alwaysThrows', inputs: [1, 2, 3], chunkSize: 1, attempts: 3 }, failures(3, 'TASK_ERROR'));
    expect(throwing.status).toBe(202);
    const mixed = await cluster.submit({ type: 'compute', task: 'throwsOn', inputs: [1, -2, 3, 4, 5], chunkSize: 2, attempts: 2 }, [
      { value: 1 },
      { code: 'TASK_ERROR' },
      { value: 3 },
      { value: 4 },
      { value: 5 },
    ]);
    expect(mixed.status).toBe(202);
    expect((await cluster.submit({ type: 'compute', task: 'sumSquares', inputs: [10, 20, 30], chunkSize: 1 }, expectValues([285, 2470, 8555]))).status).toBe(
      202,
    );

    const audit = await cluster.ledger.audit('4 task always throws');
    expect(audit).toMatchObject({ lost: 0, countedTwice: 0, problems: [] });
    const answer = await cluster.api.results(throwing.body.id);
    expect(answer.errors).toEqual([0, 1, 2].map((index) => ({ index, code: 'TASK_ERROR', message: 'this item always fails' })));
    // Every chunk ran exactly `attempts` times: two failed attempts, then the last one recorded the errors.
    for (const chunk of [0, 1, 2]) {
      const failedAttempts = cluster.workerLines((line) => line.msg === 'chunk attempt failed' && line.jobId === `${throwing.body.id}-${chunk}`);
      expect(failedAttempts).toHaveLength(2);
    }
  });

  it('5. a task that kills its thread or passes the heap limit: the thread is replaced, the process survives, the item fails after its attempts', async () => {
    cluster = await FaultCluster.start('s5', { workerEnv: { THREAD_MAX_OLD_GENERATION_MB: '32', WORKER_THREADS: '2' } });
    const pidsBefore = cluster.workerLines((line) => line.msg === 'worker process ready').map((line) => line.pid);
    expect(
      (await cluster.submit({ type: 'compute', task: 'exitThread', inputs: [1, 2], chunkSize: 1, attempts: 2 }, failures(2, 'THREAD_CRASHED'))).status,
    ).toBe(202);
    expect((await cluster.submit({ type: 'compute', task: 'allocate', inputs: [1, 2], chunkSize: 1, attempts: 2 }, failures(2, 'THREAD_CRASHED'))).status).toBe(
      202,
    );
    expect(
      (
        await cluster.submit(
          { type: 'compute', task: 'sumSquares', inputs: new Array(8).fill(2000), chunkSize: 1 },
          expectValues(new Array(8).fill(2664667000)),
        )
      ).status,
    ).toBe(202);

    const audit = await cluster.ledger.audit('5 thread exit and heap limit');
    expect(audit).toMatchObject({ lost: 0, countedTwice: 0, problems: [] });
    // The same processes live on and still compute on their replacement threads.
    const after = await cluster.submit({ type: 'compute', task: 'sumSquares', inputs: [10, 10, 10, 10], chunkSize: 1 }, expectValues([285, 285, 285, 285]));
    expect((await cluster.api.results(after.body.id)).status).toBe('completed');
    expect(cluster.deaths()).toEqual([]);
    expect(cluster.workerLines((line) => line.msg === 'worker process ready').map((line) => line.pid)).toEqual(pidsBefore);
  });

  it('6. an item that never ends is stopped at timeoutMs (its thread terminated); sibling chunks finish', async () => {
    // One process with one thread: the siblings can only run once the spinning thread is gone.
    cluster = await FaultCluster.start('s6', { workerEnv: { WORKER_PROCESSES: '1', WORKER_THREADS: '1' } });
    const started = Date.now();
    const inputs = [
      { ms: 600_000, value: 0 },
      { ms: 10, value: 1 },
      { ms: 10, value: 2 },
      { ms: 10, value: 3 },
    ];
    const answer = await cluster.submit(
      // A timeout counts from the item's start on a thread, so the siblings, which wait for the killed
      // thread's replacement to start, do not time out themselves even with a short timeout.
      { type: 'compute', task: 'spinEcho', inputs, chunkSize: 1, timeoutMs: 500, attempts: 2 },
      [{ code: 'ITEM_TIMEOUT' }, { value: 1 }, { value: 2 }, { value: 3 }],
    );
    expect(answer.status).toBe(202);
    const audit = await cluster.ledger.audit('6 item past timeoutMs');
    expect(audit).toMatchObject({ lost: 0, countedTwice: 0, problems: [] });
    expect(Date.now() - started).toBeLessThan(20_000);

    // No thread is left spinning: the process is idle now.
    const [ready] = cluster.workerLines((line) => line.msg === 'worker process ready');
    const pid = Number(ready.pid);
    const before = cpuTicks(pid);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(cpuTicks(pid) - before).toBeLessThan(30);
    expect(cluster.deaths()).toEqual([]);
  });
});
