/**
 * Fault scenario 20: a worker host SIGKILLed at the worst point of a chunk, after the chunk's item
 * outcomes reached Redis and before BullMQ marked its job completed. Both go over the worker process's
 * main Redis connection, the recording first; a command proxy (redis-command-proxy.ts) between that
 * worker host and Redis forwards the recording and holds back everything after it on that connection,
 * the completion included, and the whole host is killed there.
 *
 * The promise: such a kill can only make the chunk run again (once BullMQ's stall check finds its lock
 * gone), never lose an item or count one twice. So before a second host starts, the recorded outcomes
 * must be in Redis and the chunk's job still active; after it, the chunk must have been stalled and
 * completed again, and every item must be stored once with its exact value. The workload's last item is
 * slow, so that the re-run happens while the workload is still open: a re-run that counted the recorded
 * items again would then end the workload early, with that last item lost and items counted twice.
 */
import { Queue } from 'bullmq';
import { Keys } from '../../src/core/keys';
import type { ComputeChunkData } from '../../src/core/workload';
import { eventually } from '../utils/chunkmill-harness';
import { expectValues } from '../utils/exactly-once-audit';
import { FaultCluster, isAlive } from '../utils/fault-cluster';
import { RedisCommandProxy, scriptKeys, type RedisCommand } from '../utils/redis-command-proxy';

jest.setTimeout(90_000);

/** Items and chunks of the workload; its last item waits SLOW_MS, well past the stall check's takeover (~3 s). */
const ITEMS = 24;
const CHUNK_SIZE = 4;
const SLOW_MS = 8_000;

/** Rejects with `what` when `promise` has not settled within `ms` (instead of running into the test timeout). */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)));
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

describe('fault scenarios: a worker killed between recording a chunk and completing it', () => {
  let cluster: FaultCluster | undefined;
  let proxy: RedisCommandProxy | undefined;
  let queue: Queue | undefined;
  afterEach(async () => {
    await queue?.close();
    await cluster?.close();
    await proxy?.close();
    queue = undefined;
    cluster = undefined;
    proxy = undefined;
  });

  it('20. SIGKILL after a chunk was recorded, before its job completed: the chunk re-runs after the stall check, lost 0, counted twice 0', async () => {
    cluster = await FaultCluster.start('s20', { workers: 0 });
    const keys = new Keys(cluster.prefix);
    const queueKey = `${keys.bullPrefix}:${keys.queueName('compute')}`;
    proxy = await RedisCommandProxy.start(cluster.redis.url);

    // Host A: one process running one chunk at a time (so that the first recording is one chunk's),
    // every Redis connection of it through the proxy.
    const hostA = await cluster.startWorker({ REDIS_URL: proxy.url, WORKER_PROCESSES: '1', WORKER_CONCURRENCY: '1' });
    // The recording script: it writes the workload's results and counts them in its meta. Both keys are
    // asked for so that a read of the results (the reconciler's) is not taken for it. EVAL as well as
    // EVALSHA: ioredis sends the script itself when Redis does not know its digest.
    const isRecording = (command: RedisCommand): boolean => {
      const declared = scriptKeys(command);
      return declared.some((key) => key.endsWith(':results')) && declared.some((key) => key.endsWith(':meta'));
    };
    const recorded = proxy.holdAfter(isRecording);

    const values = Array.from({ length: ITEMS }, (_, index) => 100 + index);
    const inputs = values.map((value, index) => ({ ms: index === ITEMS - 1 ? SLOW_MS : 0, value }));
    // attempts: 1, so that the re-run can only come from BullMQ's stall handling, not from a retry.
    const answer = await cluster.submit({ type: 'compute', task: 'sleepEcho', inputs, chunkSize: CHUNK_SIZE, attempts: 1 }, expectValues(values));
    expect(answer.status).toBe(202);
    const id: string = answer.body.id;

    const hold = await within(recorded, 20_000, 'the first recording through the proxy');
    expect(scriptKeys(hold.command)).toContain(keys.workload(id).results);
    // The chunk's completion (BullMQ's moveToFinished into `completed`) comes after the recording on the
    // same connection: it must be among the commands held back. Its keys name the chunk's job.
    const heldCompletion = (): RedisCommand | undefined => proxy!.held.find((command) => scriptKeys(command).includes(`${queueKey}:completed`));
    await eventually(() => heldCompletion() !== undefined, 10_000);
    const jobKey = scriptKeys(heldCompletion()!).find((key) => key.startsWith(`${queueKey}:${id}-`));
    expect(jobKey).toBeDefined();
    const jobId = jobKey!.slice(queueKey.length + 1);

    // Host A dies there: its primary and its worker process, the whole process group at once.
    const workerPids = cluster.workerProcesses(hostA).map(({ pid }) => pid);
    expect(workerPids).toHaveLength(1);
    expect((await hostA.stop('SIGKILL', 5_000)).signal).toBe('SIGKILL');
    await eventually(() => workerPids.every((pid) => !isAlive(pid)), 5_000);
    const heldBack = proxy.held.length;
    expect(heldBack).toBeGreaterThanOrEqual(1);

    // Before anyone else runs: the completion never reached Redis (the job is still active, started
    // once), while the chunk's outcomes did, and only they (nothing else ran).
    queue = new Queue(keys.queueName('compute'), { connection: cluster.connect(), prefix: keys.bullPrefix });
    const job = await queue.getJob(jobId);
    expect(job).toBeDefined();
    expect(await job!.getState()).toBe('active');
    expect(job!.attemptsStarted).toBe(1);
    const chunk = job!.data as ComputeChunkData;
    const chunkIndexes = chunk.inputs.map((_, offset) => chunk.start + offset);
    expect(chunkIndexes).toHaveLength(CHUNK_SIZE);
    expect(chunkIndexes).not.toContain(ITEMS - 1);
    await eventually(async () => (await cluster!.api.get(`/v1/workloads/${id}`)).body.completed > 0, 2_000);
    expect((await cluster.api.get(`/v1/workloads/${id}`)).body).toMatchObject({ status: 'running', total: ITEMS, completed: CHUNK_SIZE, failed: 0 });
    const before = await cluster.api.get(`/v1/workloads/${id}/results`);
    expect(before.body.results).toEqual(values.map((value, index) => (chunkIndexes.includes(index) ? value : null)));

    // Host B, straight on Redis, finds the chunk stalled (its lock died with host A) and runs it again.
    const hostB = await cluster.startWorker();
    const audit = await cluster.ledger.audit('20 SIGKILL between recording and completion');
    expect(audit).toMatchObject({ lost: 0, countedTwice: 0, stuck: 0, problems: [] });
    const after = await cluster.api.get(`/v1/workloads/${id}/results`);
    expect(after.body).toMatchObject({ status: 'completed', results: values });
    // Counted once: the counters end at the total, the recorded chunk's items included.
    const final = (await cluster.api.get(`/v1/workloads/${id}`)).body;
    expect(final).toMatchObject({ status: 'completed', total: ITEMS, completed: ITEMS, failed: 0 });

    // The recorded chunk did run again: host B's stall check took it back, and its job completed after that, once.
    expect(hostB.lines.some((line) => line.msg === 'chunk stalled' && line.jobId === jobId)).toBe(true);
    // BullMQ's event stream of the queue (what QueueEvents reads): entry ids start with Redis's clock in ms.
    const jobEvents = (await cluster.connect().xrange(queue.keys.events, '-', '+'))
      .map(([entryId, fields]) => {
        // Field names sit at the even positions, each followed by its value.
        const field = (name: string): string | undefined => fields.find((_, position) => position % 2 === 1 && fields[position - 1] === name);
        return { at: Number(entryId.split('-')[0]), jobId: field('jobId'), event: field('event')! };
      })
      .filter((entry) => entry.jobId === jobId);
    const events: string[] = jobEvents.map((entry) => entry.event);
    expect(events.filter((event) => event === 'completed')).toEqual(['completed']);
    const stalledAt = events.indexOf('stalled');
    expect(stalledAt).toBeGreaterThanOrEqual(0);
    expect(events.indexOf('active', stalledAt)).toBeGreaterThan(stalledAt);
    expect(events.indexOf('completed')).toBeGreaterThan(events.indexOf('active', stalledAt));
    // ... and that re-run was over before the workload ended (same machine, same clock): it ran while the
    // workload still took outcomes, so counting its items again would have shown above.
    const rerunDoneAt = jobEvents.find((entry) => entry.event === 'completed')!.at;
    expect(rerunDoneAt).toBeLessThan(Date.parse(final.finishedAt));
    process.stdout.write(
      `scenario 20: chunk ${jobId} recorded, ${heldBack} command(s) held back, host A killed; events of its job: ${events.join(' ')}; ` +
        `re-run done ${Date.parse(final.finishedAt) - rerunDoneAt} ms before the workload ended\n`,
    );
  });
});
