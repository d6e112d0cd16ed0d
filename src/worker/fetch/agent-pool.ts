/**
 * The undici Agent of each workload (keep-alive, every socket opened by the SSRF guard's connector). The
 * agent's connection cap per origin is the workload's perHostConcurrency, so undici itself never opens
 * more sockets to one host than that in this process — a limiter alone would not do, since undici may
 * open a new socket for a request sent the instant an earlier one ended, before it has taken that socket
 * back. An agent no chunk uses is parked, warm, for its keep-alive time: the next chunk of any workload
 * with the same perHostConcurrency takes it, connections and all. Workloads running at the same time
 * never share one; workloads that follow each other to the same API skip opening (and the server
 * closing) their connections anew, which cost about a tenth of a worker's CPU per 2,000-request
 * workload (bench/fetch-throughput.ts).
 */
import { Agent } from 'undici';
import { guardedConnector, type AddressGuard } from '../address-guard';

/** How new connections are dialled once the guard has passed their address. */
export type Dial = Parameters<typeof guardedConnector>[1];

interface WorkloadAgent {
  agent: Agent;
  perHostConcurrency: number;
  /** Chunks using it now. */
  users: number;
}

interface ParkedAgent {
  agent: Agent;
  closeTimer: NodeJS.Timeout;
}

export class AgentPool {
  /** Agents in use, by workload. */
  private readonly agents = new Map<string, WorkloadAgent>();
  /** Agents no chunk uses, by perHostConcurrency, most recently parked last. */
  private readonly parked = new Map<number, ParkedAgent[]>();
  private readonly connect: ReturnType<typeof guardedConnector>;
  private closed = false;

  /** `keepAliveTimeoutMs`: how long an idle connection, and an agent no chunk uses, is kept. */
  constructor(guard: AddressGuard, dial: Dial, private readonly keepAliveTimeoutMs: number) {
    this.connect = guardedConnector(guard, dial);
  }

  /**
   * The workload's agent for a chunk (its own, a parked one, or a new one); call the answer when the
   * chunk is done. Every chunk of a workload carries the same perHostConcurrency.
   */
  retain(workloadId: string, perHostConcurrency: number): () => void {
    let entry = this.agents.get(workloadId);
    if (!entry) {
      entry = { agent: this.unpark(perHostConcurrency) ?? this.newAgent(perHostConcurrency), perHostConcurrency, users: 0 };
      this.agents.set(workloadId, entry);
    }
    const held = entry;
    held.users++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      held.users--;
      if (held.users > 0 || this.agents.get(workloadId) !== held) return;
      this.agents.delete(workloadId);
      this.park(held);
    };
  }

  /** The agent of a workload some chunk has retained; undefined when none has. */
  agentOf(workloadId: string): Agent | undefined {
    return this.agents.get(workloadId)?.agent;
  }

  /** Idempotent. Open connections are closed; requests still running fail. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const agents = [...this.agents.values()].map((entry) => entry.agent);
    for (const shelf of this.parked.values()) {
      for (const entry of shelf) {
        clearTimeout(entry.closeTimer);
        agents.push(entry.agent);
      }
    }
    this.agents.clear();
    this.parked.clear();
    await Promise.all(agents.map((agent) => agent.destroy()));
  }

  private newAgent(perHostConcurrency: number): Agent {
    return new Agent({
      connections: perHostConcurrency,
      keepAliveTimeout: this.keepAliveTimeoutMs,
      keepAliveMaxTimeout: Math.max(this.keepAliveTimeoutMs, 60_000),
      connect: this.connect,
    });
  }

  private unpark(perHostConcurrency: number): Agent | undefined {
    const entry = this.parked.get(perHostConcurrency)?.pop();
    if (!entry) return undefined;
    clearTimeout(entry.closeTimer);
    return entry.agent;
  }

  /** Keeps an agent no chunk uses for the keep-alive time, then closes it. */
  private park({ agent, perHostConcurrency }: WorkloadAgent): void {
    if (this.closed) {
      void agent.close().catch(() => undefined);
      return;
    }
    let shelf = this.parked.get(perHostConcurrency);
    if (!shelf) {
      shelf = [];
      this.parked.set(perHostConcurrency, shelf);
    }
    const entry: ParkedAgent = {
      agent,
      closeTimer: setTimeout(() => {
        const position = shelf.indexOf(entry);
        if (position >= 0) shelf.splice(position, 1);
        if (shelf.length === 0 && this.parked.get(perHostConcurrency) === shelf) this.parked.delete(perHostConcurrency);
        void agent.close().catch(() => undefined);
      }, this.keepAliveTimeoutMs).unref(),
    };
    shelf.push(entry);
  }
}
