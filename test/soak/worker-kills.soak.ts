/**
 * The soak (issue 15), run by `npm run soak`, not by `npm test`: SOAK_MINUTES (default 10) of mixed
 * load on a chunkmill of its own (its own redis-server on a free port, a producer, two worker hosts of
 * two processes each, a weather-like HTTP server on 127.0.0.1 for the fetch items) while every 30 s a
 * worker process is SIGKILLed in the middle of a chunk. Then a drain, and the exactly-once audit of every
 * accepted workload; the run fails when anything was lost, counted twice or stuck, or when a role's RSS
 * grew past RSS_GROWTH_LIMIT_PERCENT from the first minute to the last.
 *
 * How a kill lands mid-chunk: compute workloads carry a few long, tagged spinEcho items, and the fault
 * tasks log each start (tag, pid, time). The killer picks a process whose long item has at least
 * MIN_LEFT_MS still to run, kills it, and then waits to see the host fork a new process and the item
 * start again in another one. The first process each host forked is never killed, so that a worker
 * process's memory can be followed over the whole run; the others are killed and re-forked.
 */
import fs from 'node:fs';
import path from 'node:path';
import { CITIES, WeatherServer, temperatureOf } from '../../bench/lib/weather-server';
import { Keys, QUEUE_KINDS } from '../../src/core/keys';
import { scanKeys } from '../../src/core/redis-connection';
import { expectValues, type AuditResult, type ExpectedItem } from '../utils/exactly-once-audit';
import { FaultCluster, isAlive, signalProcess } from '../utils/fault-cluster';
import { RssSampler, type RssGrowth } from '../utils/rss-sampler';

const SOAK_MINUTES = Number(process.env.SOAK_MINUTES ?? '10');
if (!(SOAK_MINUTES > 0)) throw new Error(`SOAK_MINUTES must be a positive number of minutes, not "${process.env.SOAK_MINUTES}"`);
const SOAK_MS = SOAK_MINUTES * 60_000;
const KILL_INTERVAL_MS = 30_000;
/** After the load: how long accepted workloads get to finish before those still running count as stuck. */
const DRAIN_MS = 120_000;
/** The bound on every role's RSS growth, median of the first minute against median of the last. */
const RSS_GROWTH_LIMIT_PERCENT = 50;
const RSS_SAMPLE_INTERVAL_MS = 2_000;
const RSS_WINDOW_MS = Math.min(60_000, SOAK_MS / 2);
/** A re-forked process counts for RSS once it is this old (a fresh process is still loading its code). */
const RSS_SETTLED_AFTER_MS = 20_000;
/** The victim item must still have this long to run when it is picked: the signal surely lands mid-item. */
const MIN_LEFT_MS = 500;
/** When no long item runs in a killable process this long after a kill is due, a few are submitted (priority 1). */
const VICTIM_HELP_AFTER_MS = 5_000;
const KILL_GIVE_UP_MS = 25_000;
const SEED = Number(process.env.SOAK_SEED ?? Date.now() % 1_000_000_000);
const ARTIFACTS = path.resolve(__dirname, '../../test-artifacts');

jest.setTimeout(SOAK_MS + DRAIN_MS + 5 * 60_000);

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

/** mulberry32: the load is random but repeatable with SOAK_SEED. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = seeded(SEED);
const between = (min: number, max: number): number => min + Math.floor(random() * (max - min + 1));
const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)];

/** What sumSquares answers: Σ i² for i < n, a number while exact, else its decimal string. */
function sumSquaresOf(n: number): number | string {
  const big = BigInt(n);
  const total = big === 0n ? 0n : ((big - 1n) * big * (2n * big - 1n)) / 6n;
  return total <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(total) : total.toString();
}

interface Planned {
  body: Record<string, unknown>;
  expected: ExpectedItem[];
  /** Tags of the long items, the kill targets. */
  longTags: string[];
}

interface LongItem {
  ms: number;
  index: number;
  workloadId?: string;
}

interface Kill {
  at: number;
  pid: number;
  host: number;
  tag: string;
  workloadId?: string;
  index: number;
  leftMs: number;
  /** The signal the host reported for the death; undefined if it never reported it. */
  deathSignal?: string;
  /** The pid that started the item again after the kill. */
  rerunPid?: number;
}

interface RequestStats {
  count: number;
  slowestMs: number;
  slowest: string;
  byStatus: Map<string, number>;
}

describe('soak: worker processes SIGKILLed mid-chunk under mixed load', () => {
  let cluster: FaultCluster | undefined;
  let server: WeatherServer | undefined;
  let sampler: RssSampler | undefined;
  afterAll(async () => {
    sampler?.stop();
    await cluster?.close();
    await server?.close();
  });

  it(`${SOAK_MINUTES} min, a kill every ${KILL_INTERVAL_MS / 1000} s: nothing lost, nothing counted twice, nothing stuck, bounded RSS`, async () => {
    server = await new WeatherServer({ delayMs: 40 }).listen();
    cluster = await FaultCluster.start('soak', { workers: 2, workerEnv: { FETCH_ALLOW_PRIVATE: 'true' } });
    const soak = cluster;
    const origin = server.origin;
    const witnesses = soak.workers.map((host) => soak.workerProcesses(host)[0].pid);

    const longItems = new Map<string, LongItem>();
    const requests: RequestStats = { count: 0, slowestMs: 0, slowest: '', byStatus: new Map() };
    const workloadMs: number[] = [];
    let slowestWorkload = { ms: 0, id: '', stream: '' };
    /** The slowest request a fetch item made to the local server, as its result's `ms` says. */
    let slowestFetch = { ms: 0, url: '' };
    const recent: string[] = [];
    let sequence = 0;
    const idempotencyRepeats = { keys: 0, repeats: 0, inProgress: 0, duplicates: [] as Array<{ key: string; ids: string[] }>, duplicatedItems: 0 };
    const cancels = { asked: 0, cancelled: 0, alreadyFinished: 0 };

    const timed = async <T extends { status: number }>(label: string, call: () => Promise<T>): Promise<T> => {
      const started = performance.now();
      try {
        const answer = await call();
        const key = `${label.split(' ')[0]} ${answer.status}`;
        requests.byStatus.set(key, (requests.byStatus.get(key) ?? 0) + 1);
        return answer;
      } catch (error) {
        requests.byStatus.set(`${label.split(' ')[0]} error`, (requests.byStatus.get(`${label.split(' ')[0]} error`) ?? 0) + 1);
        throw error;
      } finally {
        const ms = performance.now() - started;
        requests.count++;
        if (ms > requests.slowestMs) Object.assign(requests, { slowestMs: ms, slowest: label });
      }
    };

    // --- what the load is made of -------------------------------------------------------------------

    const spin = (count: number, msRange: [number, number], chunkSize: number, longCount: number, priority?: number): Planned => {
      const seq = ++sequence;
      const longAt = new Set(Array.from({ length: longCount }, () => between(0, count - 1)));
      const longTags: string[] = [];
      const inputs = Array.from({ length: count }, (_, index) => {
        const value = seq * 10_000 + index;
        if (!longAt.has(index)) return { ms: between(...msRange), value };
        const tag = `L${seq}-${index}`;
        const ms = between(1_000, 1_800);
        longItems.set(tag, { ms, index });
        longTags.push(tag);
        return { ms, value, tag };
      });
      return {
        body: { type: 'compute', task: 'spinEcho', inputs, chunkSize, attempts: 2, ...(priority ? { priority } : {}) },
        expected: expectValues(inputs.map((input) => input.value)),
        longTags,
      };
    };
    const squares = (): Planned => {
      const inputs = Array.from({ length: between(1, 5) }, () => pick([0, 10, 2_000, 100_000, 3_000_000]));
      return {
        body: { type: 'compute', task: 'sumSquares', inputs, chunkSize: between(1, 2) },
        expected: expectValues(inputs.map(sumSquaresOf)),
        longTags: [],
      };
    };
    const cities = (): Planned => ({
      body: { type: 'fetch', urls: CITIES.map((city) => server!.weatherUrl(city)), extract: 'main.temp', concurrency: 17, perHostConcurrency: 17 },
      expected: CITIES.map((city) => ({ like: { url: server!.weatherUrl(city), status: 200, ok: true, value: temperatureOf(city) } })),
      longTags: [],
    });
    const pages = (count: number, delayMs: number, concurrency: number): Planned => {
      const seq = ++sequence;
      const urls = Array.from({ length: count }, (_, index) => `${origin}/item/${seq}-${index}?delay=${delayMs}`);
      return {
        body: { type: 'fetch', urls, extract: 'path', concurrency, perHostConcurrency: 16, retries: 2 },
        expected: urls.map((url, index) => ({ like: { url, status: 200, ok: true, value: `/item/${seq}-${index}` } })),
        longTags: [],
      };
    };

    // --- submitting and following -----------------------------------------------------------------

    let following = true;
    /** Long-polls a workload until it is final, for the outstanding counts and the slowest workload. */
    const follow = async (id: string, stream: string, acceptedAt: number): Promise<void> => {
      while (following) {
        const answer = await soak.api.get(`/v1/workloads/${id}/results?wait=10000`).catch(() => undefined);
        const status = answer?.body?.status;
        if (status === 'completed' || status === 'failed' || status === 'cancelled') {
          for (const result of answer!.body.results as unknown[]) {
            const fetched = result as { ms?: number; url?: string } | null;
            if (typeof fetched?.ms === 'number' && fetched.ms > slowestFetch.ms) slowestFetch = { ms: fetched.ms, url: String(fetched.url) };
          }
          const ms = Date.now() - acceptedAt;
          workloadMs.push(ms);
          if (ms > slowestWorkload.ms) slowestWorkload = { ms, id, stream };
          return;
        }
        if (!answer) await sleep(500);
      }
    };

    /** Posts a planned workload; answers its id when accepted (202), having told the ledger what to expect. */
    const submit = async (stream: string, planned: Planned, headers: Record<string, string> = {}): Promise<string | undefined> => {
      const answer = await timed(`POST /v1/workloads (${stream})`, () => soak.api.post('/v1/workloads', planned.body, headers)).catch(() => undefined);
      if (answer?.status !== 202) {
        for (const tag of planned.longTags) longItems.delete(tag);
        return undefined;
      }
      soak.ledger.accept(answer.body.id, planned.expected);
      recent.push(answer.body.id);
      if (recent.length > 50) recent.shift();
      for (const tag of planned.longTags) longItems.get(tag)!.workloadId = answer.body.id;
      return answer.body.id as string;
    };

    interface Stream {
      name: string;
      everyMs: number;
      /** Workloads of this stream not final yet; past it the stream skips a turn. */
      maxOutstanding: number;
      /** Submits one turn's workload(s); answers the accepted ids. */
      turn: () => Promise<string[]>;
    }

    const streams: Stream[] = [
      { name: 'compute small', everyMs: 500, maxOutstanding: 8, turn: async () => [await submit('compute small', squares())].filter(isId) },
      {
        name: 'compute medium',
        everyMs: 4_000,
        maxOutstanding: 4,
        turn: async () => [await submit('compute medium', spin(between(8, 16), [10, 120], between(2, 4), 1))].filter(isId),
      },
      {
        name: 'compute windowed',
        everyMs: 20_000,
        maxOutstanding: 2,
        // Hundreds of chunks: far more than the window of 8 held in the queue, fed as chunks finish.
        turn: async () => [await submit('compute windowed', spin(between(200, 400), [1, 15], between(1, 3), 2))].filter(isId),
      },
      { name: 'fetch small', everyMs: 1_500, maxOutstanding: 6, turn: async () => [await submit('fetch small', cities())].filter(isId) },
      {
        name: 'fetch big',
        everyMs: 12_000,
        maxOutstanding: 2,
        turn: async () => [await submit('fetch big', pages(between(300, 800), between(20, 80), pick([16, 32, 64])))].filter(isId),
      },
      {
        name: 'cancelled',
        everyMs: 10_000,
        maxOutstanding: 3,
        turn: async () => {
          const planned = random() < 0.5 ? spin(80, [20, 60], 4, 0) : pages(400, 100, 16);
          const id = await submit('cancelled', planned);
          if (!id) return [];
          soak.ledger.cancelled(id);
          void sleep(between(200, 2_500)).then(async () => {
            cancels.asked++;
            const answer = await timed('DELETE /v1/workloads/:id', () => soak.api.delete(`/v1/workloads/${id}`)).catch(() => undefined);
            if (answer?.status === 200) cancels.cancelled++;
            else if (answer?.status === 409) cancels.alreadyFinished++;
          });
          return [id];
        },
      },
      {
        name: 'reads',
        everyMs: 1_000,
        maxOutstanding: 1,
        // What a dashboard or a polling client asks meanwhile: the list, and one recent workload's state.
        turn: async () => {
          await timed('GET /v1/workloads?limit=20', () => soak.api.get('/v1/workloads?limit=20')).catch(() => undefined);
          if (recent.length > 0) await timed('GET /v1/workloads/:id', () => soak.api.get(`/v1/workloads/${pick(recent)}`)).catch(() => undefined);
          return [];
        },
      },
      {
        name: 'idempotent',
        everyMs: 6_000,
        maxOutstanding: 3,
        // Two posts at once with one key, a third a moment later: one workload, whatever the kills do.
        turn: async () => {
          const planned = random() < 0.5 ? squares() : cities();
          const key = `soak-${SEED}-${++sequence}`;
          idempotencyRepeats.keys++;
          const post = (): Promise<{ status: number; body: any } | undefined> =>
            timed('POST /v1/workloads (idempotent)', () => soak.api.post('/v1/workloads', planned.body, { 'idempotency-key': key })).catch(() => undefined);
          const answers = await Promise.all([post(), post()]);
          await sleep(between(300, 2_000));
          answers.push(await post());
          idempotencyRepeats.repeats += 2;
          const ids = new Set<string>();
          for (const answer of answers) {
            if (answer?.status === 202 || answer?.status === 200) ids.add(answer.body.id);
            if (answer?.status === 409) idempotencyRepeats.inProgress++;
            if (answer?.status === 202) soak.ledger.accept(answer.body.id, planned.expected);
          }
          if (ids.size > 1) {
            idempotencyRepeats.duplicates.push({ key, ids: [...ids] });
            idempotencyRepeats.duplicatedItems += (ids.size - 1) * planned.expected.length;
          }
          return [...ids];
        },
      },
    ];
    function isId(id: string | undefined): id is string {
      return id !== undefined;
    }

    const startedAt = Date.now();
    const endAt = startedAt + SOAK_MS;
    const followers: Array<Promise<void>> = [];
    const turns = new Map<string, { turns: number; skipped: number; accepted: number }>();

    const runStream = async (stream: Stream): Promise<void> => {
      const counts = { turns: 0, skipped: 0, accepted: 0 };
      turns.set(stream.name, counts);
      let outstanding = 0;
      await sleep(random() * stream.everyMs);
      while (Date.now() < endAt) {
        const turnStarted = Date.now();
        counts.turns++;
        if (outstanding >= stream.maxOutstanding) counts.skipped++;
        else {
          for (const id of await stream.turn()) {
            counts.accepted++;
            outstanding++;
            followers.push(follow(id, stream.name, Date.now()).finally(() => outstanding--));
          }
        }
        await sleep(Math.min(endAt - Date.now(), turnStarted + stream.everyMs * (0.5 + random()) - Date.now()));
      }
    };

    // --- the killer ------------------------------------------------------------------------------

    const kills: Kill[] = [];
    const missedKills: number[] = [];
    const killedTags = new Set<string>();
    const confirmations: Array<Promise<void>> = [];

    const killable = (): Map<number, number> => {
      const pids = new Map<number, number>();
      soak.workers.forEach((host, index) => {
        for (const { pid } of soak.workerProcesses(host)) if (pid !== witnesses[index]) pids.set(pid, index);
      });
      return pids;
    };

    const findVictim = (): Omit<Kill, 'at'> | undefined => {
      const pids = killable();
      const now = Date.now();
      const candidates = soak.starts().flatMap((start) => {
        const item = longItems.get(start.tag);
        if (!item || killedTags.has(start.tag) || !pids.has(start.pid) || !isAlive(start.pid)) return [];
        const leftMs = start.at + item.ms - now;
        return leftMs >= MIN_LEFT_MS
          ? [{ pid: start.pid, host: pids.get(start.pid)!, tag: start.tag, workloadId: item.workloadId, index: item.index, leftMs }]
          : [];
      });
      return candidates.length > 0 ? pick(candidates) : undefined;
    };

    const confirm = async (kill: Kill): Promise<void> => {
      // The item may have started before its POST's 202 reached us.
      kill.workloadId ??= longItems.get(kill.tag)?.workloadId;
      const host = soak.workers[kill.host];
      const death = await host
        .waitForLog((line) => line.msg === 'worker process died; forking a new one' && line.childPid === kill.pid, 30_000)
        .catch(() => undefined);
      kill.deathSignal = death?.signal as string | undefined;
      const deadline = Date.now() + 90_000;
      while (Date.now() < deadline) {
        const rerun = soak.starts().find((start) => start.tag === kill.tag && start.pid !== kill.pid && start.at >= kill.at);
        if (rerun) {
          kill.rerunPid = rerun.pid;
          return;
        }
        await sleep(100);
      }
    };

    const killMidChunk = async (): Promise<Kill | undefined> => {
      const due = Date.now();
      let helped = false;
      while (Date.now() - due < KILL_GIVE_UP_MS) {
        const victim = findVictim();
        if (victim && signalProcess(victim.pid, 'SIGKILL')) {
          killedTags.add(victim.tag);
          return { ...victim, at: Date.now() };
        }
        if (!helped && Date.now() - due > VICTIM_HELP_AFTER_MS) {
          helped = true;
          const id = await submit('victims', spin(4, [0, 0], 2, 4, 1));
          if (id) followers.push(follow(id, 'victims', Date.now()));
        }
        await sleep(25);
      }
      return undefined;
    };

    const killer = async (): Promise<void> => {
      for (let due = startedAt + KILL_INTERVAL_MS; due < endAt; due += KILL_INTERVAL_MS) {
        await sleep(due - Date.now());
        const kill = await killMidChunk();
        if (!kill) {
          missedKills.push(Math.round((Date.now() - startedAt) / 1000));
          continue;
        }
        kills.push(kill);
        confirmations.push(confirm(kill));
      }
    };

    // --- memory ----------------------------------------------------------------------------------

    sampler = new RssSampler(
      [
        { name: 'producer', pids: () => [soak.producer.pid] },
        ...soak.workers.flatMap((host, index) => [
          { name: `worker host ${index + 1}: primary`, pids: () => [host.pid] },
          { name: `worker host ${index + 1}: process never killed`, pids: () => [witnesses[index]].filter(isAlive) },
          {
            name: `worker host ${index + 1}: processes killed and re-forked (mean)`,
            pids: () =>
              soak
                .workerProcesses(host)
                .filter(({ pid, forkedAt }) => pid !== witnesses[index] && Date.now() - forkedAt >= RSS_SETTLED_AFTER_MS)
                .map(({ pid }) => pid),
          },
        ]),
      ],
      RSS_SAMPLE_INTERVAL_MS,
    );
    sampler.start();

    // --- the run ---------------------------------------------------------------------------------

    await Promise.all([...streams.map(runStream), killer()]);
    sampler.stop();
    const loadEndedAt = Date.now();
    const audit = await soak.ledger.audit(`soak ${SOAK_MINUTES} min, SIGKILL mid-chunk every ${KILL_INTERVAL_MS / 1000} s`, DRAIN_MS);
    const drainMs = Date.now() - loadEndedAt;
    following = false;
    await Promise.all([...followers, ...confirmations]);

    const rss = sampler.growth(RSS_WINDOW_MS);
    const stuckEvidence = await Promise.all(audit.stuckIds.slice(0, 5).map((id) => describeWorkload(soak, id)));
    const report = {
      seed: SEED,
      minutes: SOAK_MINUTES,
      drainMs,
      audit,
      idempotency: idempotencyRepeats,
      cancels,
      kills,
      missedKills,
      deaths: soak.deaths().length,
      turns: Object.fromEntries(turns),
      requests: { ...requests, byStatus: Object.fromEntries(requests.byStatus) },
      slowestWorkload,
      slowestFetch,
      workloadP99Ms: percentile(workloadMs, 0.99),
      rss,
      stuckEvidence,
      lostChunkLines: soak.workerLines((line) => line.msg === 'recorded a lost chunk'),
    };
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    const reportFile = path.join(ARTIFACTS, `soak-${new Date(startedAt).toISOString().replace(/[:.]/g, '-')}.json`);
    fs.writeFileSync(reportFile, `${JSON.stringify(report, null, 2)}\n`);
    process.stdout.write(`\n${formatReport(report, audit, rss)}\nfull report: ${path.relative(process.cwd(), reportFile)}\n\n`);

    const countedTwice = audit.countedTwice + idempotencyRepeats.duplicatedItems;
    expect({ lost: audit.lost, countedTwice, stuck: audit.stuck, problems: audit.problems }).toEqual({ lost: 0, countedTwice: 0, stuck: 0, problems: [] });
    expect(rss.filter((row) => row.growthPercent > RSS_GROWTH_LIMIT_PERCENT).map((row) => row.name)).toEqual([]);
    expect(kills.length).toBeGreaterThan(0);
    // Every kill hit a worker process while it ran an item: its host saw it die, and the item ran again elsewhere.
    expect(kills.filter((kill) => kill.deathSignal !== 'SIGKILL' || kill.rerunPid === undefined)).toEqual([]);
  });
});

function percentile(values: number[], fraction: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))];
}

/** A stuck workload's state in Redis: its record, its feeding state and each of its chunk jobs. */
async function describeWorkload(cluster: FaultCluster, id: string): Promise<Record<string, unknown>> {
  const redis = cluster.connect();
  const keys = new Keys('chunkmill');
  const workload = keys.workload(id);
  const [meta, feed, unfedChunks, doneChunks] = await Promise.all([
    redis.hgetall(workload.meta),
    redis.hgetall(workload.feed),
    redis.hlen(workload.chunks),
    redis.bitcount(workload.doneChunks),
  ]);
  const jobs: Record<string, unknown> = {};
  for (const kind of QUEUE_KINDS) {
    const queue = `${keys.bullPrefix}:${keys.queueName(kind)}`;
    const jobKeys = (await scanKeys(redis, `${queue}:${id}-*`)).filter((key) => /-\d+$/.test(key));
    for (const key of jobKeys) {
      const jobId = key.slice(queue.length + 1);
      const [fields, states] = await Promise.all([
        redis.hmget(key, 'attemptsMade', 'stalledCounter', 'processedOn', 'finishedOn', 'failedReason'),
        Promise.all([
          ...['wait', 'active', 'paused'].map(async (list) => ((await redis.lpos(`${queue}:${list}`, jobId)) !== null ? list : undefined)),
          ...['delayed', 'prioritized', 'completed', 'failed', 'waiting-children'].map(async (set) =>
            (await redis.zscore(`${queue}:${set}`, jobId)) !== null ? set : undefined,
          ),
        ]),
      ]);
      jobs[jobId] = {
        states: states.filter(Boolean),
        attemptsMade: fields[0],
        stalledCounter: fields[1],
        processedOn: fields[2],
        finishedOn: fields[3],
        failedReason: fields[4],
        locked: (await redis.exists(`${key}:lock`)) === 1,
      };
    }
  }
  return { id, meta, feed, unfedChunks, doneChunks, jobs };
}

function formatTable(rows: string[][]): string {
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  const line = (row: string[]): string =>
    `| ${row.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]) : cell.padStart(widths[column]))).join(' | ')} |`;
  return [line(rows[0]), `|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`, ...rows.slice(1).map(line)].join('\n');
}

const mb = (bytes: number): string => (bytes / 1024 / 1024).toFixed(1);

function formatReport(
  report: {
    seed: number;
    drainMs: number;
    kills: Kill[];
    missedKills: number[];
    idempotency: { keys: number; repeats: number; duplicates: unknown[]; duplicatedItems: number };
    cancels: { asked: number; cancelled: number; alreadyFinished: number };
    requests: { count: number; slowestMs: number; slowest: string };
    slowestWorkload: { ms: number; id: string; stream: string };
    slowestFetch: { ms: number; url: string };
    workloadP99Ms: number;
  },
  audit: AuditResult,
  rss: RssGrowth[],
): string {
  const rerun = report.kills.filter((kill) => kill.rerunPid !== undefined).length;
  const outcome = formatTable([
    ['soak', 'value'],
    ['minutes of load (seed)', `${SOAK_MINUTES} (${report.seed})`],
    ['workloads accepted', String(audit.workloads)],
    ['items accepted', String(audit.accepted)],
    ['lost', String(audit.lost)],
    ['counted twice', String(audit.countedTwice + report.idempotency.duplicatedItems)],
    ['stuck (workloads / items)', `${audit.stuck} / ${audit.stuckItems}`],
    [
      'kills mid-chunk (item re-run elsewhere)',
      `${report.kills.length} (${rerun})${report.missedKills.length ? `, none found at ${report.missedKills.join(', ')} s` : ''}`,
    ],
    ['cancels (cancelled / already finished)', `${report.cancels.asked} (${report.cancels.cancelled} / ${report.cancels.alreadyFinished})`],
    ['Idempotency-Key repeats (duplicates)', `${report.idempotency.repeats} (${report.idempotency.duplicates.length})`],
    ['API requests; slowest', `${report.requests.count}; ${report.requests.slowestMs.toFixed(0)} ms ${report.requests.slowest}`],
    [
      'slowest workload (p99), accept to final',
      `${(report.slowestWorkload.ms / 1000).toFixed(1)} s ${report.slowestWorkload.stream} (${(report.workloadP99Ms / 1000).toFixed(1)} s)`,
    ],
    ['slowest fetch item request (its ms)', `${report.slowestFetch.ms} ms ${report.slowestFetch.url.replace(/^http:\/\/[^/]+/, '')}`],
    ['drain after the load', `${(report.drainMs / 1000).toFixed(1)} s`],
  ]);
  const memory = formatTable([
    ['RSS (median)', 'first min MB', 'last min MB', 'growth MB', 'growth %', 'peak MB'],
    ...rss.map((row) => [row.name, mb(row.firstBytes), mb(row.lastBytes), mb(row.growthBytes), row.growthPercent.toFixed(1), mb(row.peakBytes)]),
  ]);
  const problems = audit.problems.length > 0 ? `\nproblems:\n${audit.problems.map((text) => `  ${text}`).join('\n')}\n` : '';
  return `${outcome}\n\n${memory}\n(RSS bound: ${RSS_GROWTH_LIMIT_PERCENT} % growth per role)\n${problems}`;
}
