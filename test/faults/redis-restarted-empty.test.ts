/**
 * Fault scenario 16: Redis restarts empty. While workloads run and clients follow them (SSE streams,
 * long-polls, an SDK `imapUnordered`, an `AsyncResult.get`), Redis is killed (-9), its data folder
 * (AOF) removed, and started again on the same port: every accepted workload is gone, index and all.
 * That loses work by definition; the promise kept is that nobody waits forever and nobody is told a
 * silent 404: every open request ends within seconds with WORKLOAD_LOST, and every accepted workload
 * then answers 410 WORKLOAD_LOST (the producer that accepted it remembers it). The summary row counts
 * them as reported lost; a workload that answered anything else would count as lost.
 */
import fs from 'node:fs';
import { FaultCluster } from '../utils/fault-cluster';
import { validatingFetch } from '../utils/openapi-validator';
import { readSse } from '../../src/sdk/sse-stream';
import { Pool, WorkloadLostError } from '../../src';

jest.setTimeout(120_000);

/** Every open request must end within this long after Redis is back: a presence check (2 s) and slack. */
const ENDS_WITHIN_MS = 8_000;
const sleeping = (count: number) => Array.from({ length: count }, () => ({ ms: 60_000 }));

/** How one open request ended: what it said, and when (ms after Redis was started again). */
interface Ending {
  request: string;
  outcome: string;
  atMs: number;
}

describe('fault scenarios: Redis restarted empty', () => {
  let cluster: FaultCluster | undefined;
  afterEach(async () => {
    await cluster?.close();
    cluster = undefined;
  });

  const scenario16 =
    '16. Redis restarted empty: every stream, long-poll and SDK wait ends within seconds with WORKLOAD_LOST; ' +
    'every accepted workload answers 410, none a silent 404';
  it(scenario16, async () => {
    // 2 processes × 3 threads: 6 of the 9 chunks below run (sleep) when Redis goes, the rest wait.
    cluster = await FaultCluster.start('s12', { workerEnv: { WORKER_THREADS: '3' } });
    const api = cluster.api;
    // The event streams and the SDK's answers, checked against the OpenAPI document (a stream once it has ended).
    const checked = validatingFetch();
    let restartedAt = Number.POSITIVE_INFINITY;
    const endings: Array<Promise<Ending>> = [];
    const ended = (request: string, outcome: string): Ending => ({ request, outcome, atMs: Date.now() - restartedAt });

    const ids: string[] = [];
    for (let n = 0; n < 3; n++) {
      const answer = await cluster.submit(
        { type: 'compute', task: 'sleep', inputs: sleeping(2), chunkSize: 1 },
        sleeping(2).map(() => ({ code: 'never checked' })),
      );
      expect(answer.status).toBe(202);
      ids.push(answer.body.id);
    }
    const firstEvents: Array<Promise<void>> = [];
    for (const id of ids) {
      const response = await checked(`${api.baseUrl}/v1/workloads/${id}/events`);
      expect(response.status).toBe(200);
      let connected!: () => void;
      firstEvents.push(new Promise((resolve) => (connected = resolve)));
      endings.push(
        (async () => {
          let last = 'stream ended without an error event';
          for await (const message of readSse(response.body!)) {
            connected();
            if (message.event === 'error') last = (JSON.parse(message.data) as { error: { code: string } }).error.code;
            if (message.event === 'done') last = `done ${message.data}`;
          }
          return ended(`events ${id}`, last);
        })(),
      );
      endings.push(
        api
          .get(`/v1/workloads/${id}/results?wait=120000`)
          .then((answer) => ended(`results?wait ${id}`, `${answer.status} ${answer.body?.error?.code ?? answer.body?.status}`)),
      );
    }
    const pool = new Pool({ url: api.baseUrl, fetch: checked });
    const sdkOutcome = (request: string) => (error: unknown) =>
      ended(request, error instanceof WorkloadLostError ? `WorkloadLostError ${error.code}` : `other: ${String(error)}`);
    endings.push(
      (async () => {
        for await (const value of pool.imapUnordered('sleep', sleeping(2), { chunkSize: 1 })) void value;
        return ended('sdk imapUnordered', 'iterator finished');
      })().catch(sdkOutcome('sdk imapUnordered')),
    );
    const handle = await pool.applyAsync('sleep', { ms: 60_000 });
    endings.push(handle.get().then(() => ended('sdk AsyncResult.get', 'answered'), sdkOutcome('sdk AsyncResult.get')));

    // Everything is followed and mostly running; the SDK's workloads are accepted ones too.
    await Promise.all(firstEvents);
    let listed: Array<{ id: string; status: string; total: number }> = [];
    for (let tries = 0; tries < 100; tries++) {
      listed = (await api.get('/v1/workloads')).body.workloads;
      if (listed.length === 5 && listed.filter((workload) => workload.status === 'running').length >= 3) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(listed).toHaveLength(5);
    for (const workload of listed)
      if (!ids.includes(workload.id))
        cluster.ledger.accept(
          workload.id,
          sleeping(workload.total).map(() => ({ code: 'never checked' })),
        );
    const runningAtFault = listed.filter((workload) => workload.status === 'running').length;
    expect(runningAtFault).toBeGreaterThanOrEqual(3);
    // Past the subscriber's first resync, so that what ends the streams is this fault.
    await new Promise((resolve) => setTimeout(resolve, 500));

    await cluster.redis.stop({ hard: true });
    fs.rmSync(cluster.redis.options.dir, { recursive: true, force: true });
    await cluster.redis.start();
    restartedAt = Date.now();

    const deadline = new Promise<Ending>((resolve) => setTimeout(() => resolve(ended('deadline', 'still open')), 30_000).unref());
    const outcomes = await Promise.all(endings.map((ending) => Promise.race([ending, deadline])));
    const slowest = outcomes.reduce((worst, ending) => (ending.atMs > worst.atMs ? ending : worst));
    for (const ending of outcomes) {
      expect({ request: ending.request, outcome: ending.outcome }).toEqual({
        request: ending.request,
        outcome: expect.stringMatching(/^(WORKLOAD_LOST|410 WORKLOAD_LOST|WorkloadLostError WORKLOAD_LOST)$/),
      });
    }
    expect(slowest.atMs).toBeLessThan(ENDS_WITHIN_MS);
    expect(checked.violations.map((violation) => violation.message)).toEqual([]);

    // Asked afterwards, each accepted workload is reported lost; an id never seen is still a 404.
    const audit = await cluster.ledger.auditReportedLost('16 Redis restarted empty (all reported lost)');
    expect(audit).toMatchObject({ workloads: 5, lost: 0, countedTwice: 0, problems: [] });
    expect(audit.reportedLost).toBe(audit.accepted);
    expect((await api.get('/v1/workloads/never-was')).status).toBe(404);
    // chunkmill carries on: a new workload is accepted on the empty Redis.
    expect((await api.post('/v1/workloads', { type: 'compute', task: 'sumSquares', inputs: [1] })).status).toBe(202);
    process.stdout.write(
      `redis restarted empty: ${outcomes.length} open requests on ${audit.workloads} workloads (${runningAtFault} running) all ended with WORKLOAD_LOST; ` +
        `slowest ${slowest.atMs} ms after Redis was back (${slowest.request}); ` +
        `${audit.reportedLost}/${audit.accepted} accepted items reported lost, 0 silent\n`,
    );
  });
});
