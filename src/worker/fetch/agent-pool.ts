/**
 * The undici Agents that fetch chunks send their requests through (keep-alive, every socket opened by
 * the SSRF guard's connector). Each workload running in this process has one, held by its session
 * (workload-session.ts). The agent's connection cap per origin is the workload's perHostConcurrency, so
 * undici itself never opens more sockets to one host than that in this process — a limiter alone would
 * not do, since undici may open a new socket for a request sent the instant an earlier one ended, before
 * it has taken that socket back. An agent given back is parked, warm, for its keep-alive time: the next
 * workload with the same perHostConcurrency takes it, connections and all. Workloads running at the same
 * time never share one; workloads that follow each other to the same API skip opening (and the server
 * closing) their connections anew, which cost about a tenth of a worker's CPU per 2,000-request
 * workload (bench/fetch-throughput.ts).
 */
import { Agent } from 'undici';
import { guardedConnector, type AddressGuard } from '../address-guard';

/** How new connections are dialled once the guard has passed their address. */
export type Dial = Parameters<typeof guardedConnector>[1];

interface ParkedAgent {
  agent: Agent;
  closeTimer: NodeJS.Timeout;
}

export class AgentPool {
  /** Agents taken and not given back, with their perHostConcurrency (the shelf they go back to). */
  private readonly lent = new Map<Agent, number>();
  /** Agents given back, by perHostConcurrency, most recently parked last. */
  private readonly parked = new Map<number, ParkedAgent[]>();
  private readonly connect: ReturnType<typeof guardedConnector>;
  private closed = false;

  /** `keepAliveTimeoutMs`: how long an idle connection, and a parked agent, is kept. */
  constructor(
    guard: AddressGuard,
    dial: Dial,
    private readonly keepAliveTimeoutMs: number,
  ) {
    this.connect = guardedConnector(guard, dial);
  }

  /** An agent for one workload (a parked one, or a new one); give it back when the workload's last chunk is done. */
  take(perHostConcurrency: number): Agent {
    const agent = this.unpark(perHostConcurrency) ?? this.newAgent(perHostConcurrency);
    this.lent.set(agent, perHostConcurrency);
    return agent;
  }

  /** Parks an agent taken with `take`, for the next workload with its perHostConcurrency. */
  give(agent: Agent): void {
    const perHostConcurrency = this.lent.get(agent);
    if (perHostConcurrency === undefined) return;
    this.lent.delete(agent);
    this.park(agent, perHostConcurrency);
  }

  /** Idempotent. Open connections are closed; requests still running fail. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const agents = [...this.lent.keys()];
    for (const shelf of this.parked.values()) {
      for (const entry of shelf) {
        clearTimeout(entry.closeTimer);
        agents.push(entry.agent);
      }
    }
    this.lent.clear();
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

  /** Keeps an agent no workload uses for the keep-alive time, then closes it. */
  private park(agent: Agent, perHostConcurrency: number): void {
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
