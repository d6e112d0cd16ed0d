/**
 * A worker host's metrics, all its cluster processes added up. Each child keeps its own registry;
 * the primary asks every child for it over the cluster IPC channel and merges the answers with
 * prom-client's `AggregatorRegistry.aggregate` (each metric's `aggregator`: counters and histograms
 * summed, utilisation averaged, lag averaged or maxed; see core/metrics.ts).
 *
 * Why not `AggregatorRegistry.clusterMetrics()`: it fails the whole scrape when one child is slow
 * (a child busy dying, or blocked), it cannot add the primary's own metrics, and the counts of a
 * child that died vanish from the sum, so the host's counters would go down. Here a child that does
 * not answer within `answerTimeoutMs` is left out of that scrape, and the counters and histograms a
 * child last reported are kept when it exits ("retired"), so the host's counters only grow.
 *
 * Exits: a child that stops (SIGTERM, its chunks finished or handed back) sends its final values
 * before it exits and waits until the primary has them (`reportFinalMetrics`), so everything it counted,
 * hand-backs included, is in the host's totals. A child that dies without stopping (SIGKILL, out of
 * memory, an uncaught exception) takes what it counted since its last report with it: the primary asks
 * every `refreshIntervalMs` (1 s), so at most that much.
 */
import cluster, { type Worker as ClusterChild } from 'node:cluster';
import { AggregatorRegistry, type Registry } from 'prom-client';

const REQUEST = 'chunkmill:metrics-request';
const ANSWER = 'chunkmill:metrics-answer';
const FINAL = 'chunkmill:metrics-final';
const FINAL_RECEIVED = 'chunkmill:metrics-final-received';

type MetricsJson = Awaited<ReturnType<Registry['getMetricsAsJSON']>>;

interface MetricsMessage {
  type: string;
  requestId: number;
  metrics?: MetricsJson;
  error?: string;
}

/** In a cluster child: answer the primary's requests with this registry. Returns the detach function. */
export function answerMetricsRequests(registry: Registry): () => void {
  const onMessage = (message: MetricsMessage): void => {
    if (message?.type !== REQUEST || !process.send) return;
    registry.getMetricsAsJSON().then(
      (metrics) => process.send?.({ type: ANSWER, requestId: message.requestId, metrics }),
      (error: unknown) => process.send?.({ type: ANSWER, requestId: message.requestId, error: String(error) }),
    );
  };
  process.on('message', onMessage);
  return () => process.off('message', onMessage);
}

/**
 * In a cluster child about to exit: sends the registry's final values to the primary and resolves once
 * the primary has them (true), or after `timeoutMs` or at once when there is no primary to tell (false).
 * Call it after the last thing that counts (the chunks finished or handed back).
 */
export async function reportFinalMetrics(registry: Registry, timeoutMs = 2_000): Promise<boolean> {
  if (!process.send || !process.connected) return false;
  const metrics = await registry.getMetricsAsJSON();
  return new Promise<boolean>((resolve) => {
    const finish = (received: boolean): void => {
      clearTimeout(timer);
      process.off('message', onMessage);
      resolve(received);
    };
    const onMessage = (message: MetricsMessage): void => {
      if (message?.type === FINAL_RECEIVED) finish(true);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    process.on('message', onMessage);
    try {
      process.send?.({ type: FINAL, requestId: -1, metrics }, undefined, {}, (error) => {
        if (error) finish(false);
      });
    } catch {
      finish(false);
    }
  });
}

export interface ClusterMetricsOptions {
  /**
   * How long a child may take to answer before a scrape goes on without it.
   * @defaultValue 2000
   */
  answerTimeoutMs?: number;
  /**
   * How often the primary asks its children between scrapes, so that the counts of a child that dies
   * without stopping are recent.
   * @defaultValue 1000
   */
  refreshIntervalMs?: number;
}

interface PendingRequest {
  waiting: Set<number>;
  done: () => void;
}

/** In the primary: collects and merges the children's metrics with its own registry's. */
export class ClusterMetrics {
  private readonly options: Required<ClusterMetricsOptions>;
  private readonly lastSeen = new Map<number, MetricsJson>();
  /** Children that sent their final values: an answer of theirs still on its way is older. */
  private readonly finished = new Set<number>();
  private readonly pending = new Map<number, PendingRequest>();
  private retired: MetricsJson = [];
  private retiring: Promise<void> = Promise.resolve();
  private nextRequestId = 0;
  private refresher?: NodeJS.Timeout;
  private readonly onMessage = (child: ClusterChild, message: MetricsMessage): void => this.receive(child, message);
  private readonly onExit = (child: ClusterChild): void => this.retire(child);

  constructor(
    private readonly own: Registry,
    options: ClusterMetricsOptions = {},
  ) {
    this.options = { answerTimeoutMs: 2_000, refreshIntervalMs: 1_000, ...options };
    cluster.on('message', this.onMessage);
    cluster.on('exit', this.onExit);
    this.refresher = setInterval(() => void this.refresh(), this.options.refreshIntervalMs).unref();
  }

  /** Everything this host exports, as one registry (render it with `.metrics()`). */
  async aggregated(): Promise<Registry> {
    await this.refresh();
    await this.retiring;
    const children = [...this.lastSeen.values()];
    return AggregatorRegistry.aggregate([...children, this.retired, await this.own.getMetricsAsJSON()]);
  }

  close(): void {
    clearInterval(this.refresher);
    cluster.off('message', this.onMessage);
    cluster.off('exit', this.onExit);
    for (const request of this.pending.values()) request.done();
  }

  /** Asks every connected child for its metrics; resolves when all answered or the timeout passed. */
  private refresh(): Promise<void> {
    // One that sent its final values answers no more.
    const children = Object.values(cluster.workers ?? {}).filter(
      (child): child is ClusterChild => child?.isConnected() === true && !this.finished.has(child.id),
    );
    if (children.length === 0) return Promise.resolve();
    const requestId = this.nextRequestId++;
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => done(), this.options.answerTimeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        this.pending.delete(requestId);
        resolve();
      };
      this.pending.set(requestId, { waiting: new Set(children.map((child) => child.id)), done });
      for (const child of children) {
        try {
          child.send({ type: REQUEST, requestId });
        } catch {
          // disconnected in between: it will not answer, the timeout covers it
        }
      }
    });
  }

  private receive(child: ClusterChild, message: MetricsMessage): void {
    if (message?.type === FINAL) {
      // Its last values: kept as its last seen, and retired with it when it exits.
      if (message.metrics) this.lastSeen.set(child.id, message.metrics);
      this.finished.add(child.id);
      try {
        child.send({ type: FINAL_RECEIVED, requestId: message.requestId });
      } catch {
        // gone already: it stops waiting after its timeout
      }
      return;
    }
    if (message?.type !== ANSWER) return;
    if (message.metrics && !this.finished.has(child.id)) this.lastSeen.set(child.id, message.metrics);
    const request = this.pending.get(message.requestId);
    if (!request) return;
    request.waiting.delete(child.id);
    if (request.waiting.size === 0) request.done();
  }

  /** A child exited: keep its last counters and histograms, drop its gauges. */
  private retire(child: ClusterChild): void {
    const last = this.lastSeen.get(child.id);
    this.lastSeen.delete(child.id);
    this.finished.delete(child.id);
    for (const request of this.pending.values()) {
      request.waiting.delete(child.id);
      if (request.waiting.size === 0) request.done();
    }
    if (!last) return;
    const monotonic = last.filter((metric) => String(metric.type) === 'counter' || String(metric.type) === 'histogram');
    // Re-aggregating keeps the baseline one set of series, however many children have come and gone.
    this.retiring = this.retiring.then(async () => {
      this.retired = await AggregatorRegistry.aggregate([this.retired, monotonic]).getMetricsAsJSON();
    });
  }
}
