/**
 * What a worker process keeps for one workload while chunks of it run here: its session. The first chunk
 * of a workload to start makes it; every chunk retains it and releases it when done; the last release
 * drops it, and with it everything it holds. One place for that lifetime, so that the parts below need
 * no per-workload bookkeeping of their own:
 *
 * - the running chunks, to stop them when the workload is cancelled (the cancel channel, and the memory
 *   of recent cancels, are the process's: cancellation-registry.ts);
 * - for fetch chunks, made by the first one: the workload's undici agent (taken from the agent pool,
 *   given back to it for the next workload on release), its per-origin limits (origin-limiter.ts), and
 *   its share of the workload-wide leases (workload-slots.ts, closed on release).
 */
import type { Agent } from 'undici';
import type { FetchOptions } from '../core/workload';
import type { CancellationRegistry, WorkloadCancelledError } from './cancellation-registry';
import type { AgentPool } from './fetch/agent-pool';
import { OriginLimiter } from './origin-limiter';
import type { WorkloadLeases, WorkloadSlots } from './workload-slots';

/** What a running chunk gives its session: called with the cancel reason when its workload is cancelled. */
export type OnCancel = (reason: WorkloadCancelledError) => void;

/** What the sessions of a process share. */
export interface SessionParts {
  cancellations: CancellationRegistry;
  agents: AgentPool;
  slots: WorkloadSlots;
}

/** What a workload's fetch chunks share in this process. */
export interface FetchParts {
  agent: Agent;
  origins: OriginLimiter;
  leases: WorkloadLeases;
}

export class WorkloadSessions {
  private readonly sessions = new Map<string, WorkloadSession>();

  constructor(private readonly parts: SessionParts) {}

  /** The workload's session, made if no chunk holds it; call its `release` when the chunk is done. */
  retain(workloadId: string): WorkloadSession {
    let session = this.sessions.get(workloadId);
    if (!session) {
      const made = new WorkloadSession(workloadId, this.parts, () => {
        if (this.sessions.get(workloadId) === made) this.sessions.delete(workloadId);
      });
      session = made;
      this.sessions.set(workloadId, session);
    }
    session.retain();
    return session;
  }

  /** Stops the running chunks of the cancelled workload (the registry's `stopChunks`). */
  cancel(reason: WorkloadCancelledError): void {
    this.sessions.get(reason.workloadId)?.cancel(reason);
  }

  /** Workloads with a chunk running here (for tests and metrics). */
  get size(): number {
    return this.sessions.size;
  }
}

export class WorkloadSession {
  /** Chunks that retained the session and have not released it. */
  private users = 0;
  /**
   * The running chunks, as callbacks: a chunk owns one AbortController for everything that stops it,
   * rather than one more here (they are costly to make by the thousand per second).
   */
  private readonly chunks = new Set<OnCancel>();
  private fetchParts?: FetchParts;

  constructor(
    readonly workloadId: string,
    private readonly parts: SessionParts,
    private readonly drop: () => void,
  ) {}

  /** Called by WorkloadSessions.retain. */
  retain(): void {
    this.users++;
  }

  /** Once per retain. The last release drops the session and gives back what it holds. */
  release(): void {
    this.users--;
    if (this.users > 0) return;
    this.drop();
    if (this.fetchParts) {
      this.parts.agents.give(this.fetchParts.agent);
      this.fetchParts.leases.close();
      this.fetchParts = undefined;
    }
  }

  /**
   * Calls `onCancel` when the workload is cancelled (at once if it was lately); answers the function
   * that unregisters, to call when the chunk is done.
   */
  onCancel(onCancel: OnCancel): () => void {
    const lately = this.parts.cancellations.cancelledLately(this.workloadId);
    if (lately) {
      onCancel(lately);
      return () => undefined;
    }
    this.chunks.add(onCancel);
    return () => this.chunks.delete(onCancel);
  }

  cancel(reason: WorkloadCancelledError): void {
    for (const onCancel of this.chunks) onCancel(reason);
  }

  /** The fetch parts, made by the first fetch chunk: every chunk of a workload carries the same options. */
  fetching(options: Pick<FetchOptions, 'concurrency' | 'perHostConcurrency'>): FetchParts {
    this.fetchParts ??= {
      agent: this.parts.agents.take(options.perHostConcurrency),
      origins: new OriginLimiter(options.perHostConcurrency),
      leases: this.parts.slots.open(this.workloadId, options.concurrency),
    };
    return this.fetchParts;
  }
}
