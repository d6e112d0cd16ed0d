/**
 * The worker host's primary process: forks `WORKER_PROCESSES` worker processes and forks a new one
 * whenever one dies unexpectedly (a child that keeps dying at start is re-forked with a growing delay,
 * so a broken deployment does not spin). On shutdown it asks every child to stop (SIGTERM), waits for
 * them, and kills those that outlive the grace period.
 */
import cluster, { type Worker as ClusterChild } from 'node:cluster';
import type { Logger } from 'pino';

/** What a worker process sends its primary once its BullMQ workers are connected (worker-process.ts). */
export const WORKER_READY_MESSAGE = 'chunkmill:worker-process-ready';

/** A child that dies sooner than this after its start counts as a crash loop. */
const EARLY_DEATH_MS = 5_000;
const MAX_REFORK_DELAY_MS = 10_000;

export interface ClusterSupervisorOptions {
  processes: number;
  /** How long children get to finish their chunks after SIGTERM before they are killed. */
  shutdownGraceMs: number;
}

export class ClusterSupervisor {
  private stopping = false;
  private readonly startedAt = new Map<number, number>();
  private earlyDeaths = 0;
  /** Children (by cluster id) that said they are ready, until they exit. */
  private readonly ready = new Set<number>();

  constructor(
    private readonly options: ClusterSupervisorOptions,
    private readonly logger: Logger,
  ) {}

  start(): void {
    cluster.on('exit', (child, code, signal) => this.onExit(child, code, signal));
    cluster.on('message', (child, message: { type?: unknown } | undefined) => {
      if (message?.type === WORKER_READY_MESSAGE) this.ready.add(child.id);
    });
    for (let i = 0; i < this.options.processes; i++) this.fork();
  }

  get children(): ClusterChild[] {
    return Object.values(cluster.workers ?? {}).filter((child): child is ClusterChild => child !== undefined);
  }

  /** Why not every worker process takes work, or undefined when all of them (at least one) do. */
  notReadyReason(): string | undefined {
    const alive = this.children.filter((child) => !child.isDead()).length;
    const ready = this.children.filter((child) => this.ready.has(child.id) && !child.isDead()).length;
    if (alive > 0 && ready === alive) return undefined;
    return `${ready} of ${this.options.processes} worker processes ready`;
  }

  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    const children = this.children;
    const exits = children.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.isDead()) return resolve();
          child.once('exit', () => resolve());
        }),
    );
    for (const child of children) child.process.kill('SIGTERM');
    const killer = setTimeout(() => {
      for (const child of this.children) {
        this.logger.warn({ childPid: child.process.pid }, 'worker process outlived the grace period; killing it');
        child.process.kill('SIGKILL');
      }
    }, this.options.shutdownGraceMs + 5_000);
    await Promise.all(exits);
    clearTimeout(killer);
  }

  private fork(): void {
    const child = cluster.fork();
    this.startedAt.set(child.id, Date.now());
    this.logger.info({ childPid: child.process.pid }, 'worker process forked');
  }

  private onExit(child: ClusterChild, code: number | null, signal: string | null): void {
    const lived = Date.now() - (this.startedAt.get(child.id) ?? 0);
    this.startedAt.delete(child.id);
    this.ready.delete(child.id);
    if (this.stopping) return;
    this.logger.warn({ childPid: child.process.pid, code, signal, livedMs: lived }, 'worker process died; forking a new one');
    this.earlyDeaths = lived < EARLY_DEATH_MS ? this.earlyDeaths + 1 : 0;
    const delay = this.earlyDeaths === 0 ? 0 : Math.min(MAX_REFORK_DELAY_MS, 250 * 2 ** this.earlyDeaths);
    setTimeout(() => {
      if (!this.stopping) this.fork();
    }, delay);
  }
}
