/**
 * ClusterMetrics with real cluster children (test/fixtures/metrics-child.js), the primary's background
 * refresh off: a child that reports its final values before it exits has every count in the host's
 * totals, however long after the last poll it counted; one that exits without reporting loses what it
 * counted since (the limit for a process killed outright). Totals never go down when children come and go.
 */
import cluster, { type Worker as ClusterChild } from 'node:cluster';
import path from 'node:path';
import { Registry } from 'prom-client';
import { ClusterMetrics } from '../../src/worker/cluster-metrics';
import { workerIdLabel } from '../../src/core/metrics';
import { parseMetrics, sumOf } from '../utils/prometheus-text';

describe('ClusterMetrics and exiting children', () => {
  const own = new Registry();
  workerIdLabel(own, 'host-c');
  let metrics: ClusterMetrics;
  const total = async (): Promise<number> => sumOf(parseMetrics(await (await metrics.aggregated()).metrics()), 'test_things_total', { worker_id: 'host-c' });

  beforeAll(() => {
    cluster.setupPrimary({ exec: path.resolve(__dirname, '../fixtures/metrics-child.js'), silent: true });
    metrics = new ClusterMetrics(own, { refreshIntervalMs: 3_600_000, answerTimeoutMs: 2_000 });
  });
  afterAll(() => metrics.close());

  /** Forks a child, lets it be polled once (at 0), then makes it count and exit; answers what it said. */
  async function countAndExit(count: number, finalReport: boolean): Promise<{ received: boolean }> {
    const child: ClusterChild = cluster.fork({ WORKER_ID: 'host-c', COUNT: String(count), FINAL_REPORT: String(finalReport) });
    await new Promise<void>((resolve) => child.on('message', (message) => message?.type === 'test:ready' && resolve()));
    await metrics.aggregated();
    const said = new Promise<{ received: boolean }>((resolve) => child.on('message', (message) => message?.type === 'test:exiting' && resolve(message)));
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.send({ type: 'test:count-and-exit' });
    const answer = await said;
    await exited;
    return answer;
  }

  it('keeps the final counts of a child that reports them before exiting', async () => {
    expect(await countAndExit(7, true)).toEqual({ type: 'test:exiting', received: true });
    expect(await total()).toBe(7);
    expect(await countAndExit(5, true)).toEqual({ type: 'test:exiting', received: true });
    expect(await total()).toBe(12);
  });

  it('loses what a child counted after the last poll when it exits without reporting, and never goes down', async () => {
    expect(await countAndExit(100, false)).toEqual({ type: 'test:exiting', received: false });
    expect(await total()).toBe(12);
  });
});
