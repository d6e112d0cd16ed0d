/**
 * Makes one fetch item's request, on this process's event loop, through the undici agent of its
 * workload (taken from `agents`, fetch/agent-pool.ts, by the workload's session). One item is: up to
 * `1 + retries` attempts (fetch/retry-policy.ts); an attempt follows up to MAX_REDIRECTS redirects
 * itself (fetch/redirects.ts); each hop is one HTTP exchange that holds a slot of the `gate` until its
 * body is read, and must end within `timeoutMs` (fetch/exchange.ts).
 */
import type { Agent } from 'undici';
import type { FetchItemResult, FetchOptions, FetchRequestSpec } from '../core/workload';
import type { AddressGuard } from './address-guard';
import { AgentPool, type Dial } from './fetch/agent-pool';
import type { ExchangeObserver, SlotGate } from './fetch/exchange';
import { followRedirects } from './fetch/redirects';
import { withRetries } from './fetch/retry-policy';

export type { SlotGate } from './fetch/exchange';
export { isPermanentFetchError } from './fetch/retry-policy';

export interface HttpFetcherOptions {
  guard: AddressGuard;
  /** How long an idle keep-alive connection (and a parked agent) is kept. @defaultValue 4000 */
  keepAliveTimeoutMs?: number;
  /** undici's connector by default; tests pass one that dials their local server. */
  dial?: Dial;
  /** Called after each HTTP exchange (status undefined: no answer), for metrics. */
  onExchange?: ExchangeObserver;
}

export class HttpFetcher {
  /** The agents of the workloads, whose connections go through the guard. */
  readonly agents: AgentPool;

  constructor(private readonly options: HttpFetcherOptions) {
    this.agents = new AgentPool(options.guard, options.dial, options.keepAliveTimeoutMs ?? 4000);
  }

  /** One item, through its workload's agent: the result, or an ItemError once its retries are spent. */
  async fetch(agent: Agent, spec: FetchRequestSpec, options: FetchOptions, signal: AbortSignal, gate: SlotGate): Promise<FetchItemResult> {
    const context = { agent, options, signal, gate, onExchange: this.options.onExchange };
    const started = performance.now();
    const answer = await withRetries(options.retries, signal, () => followRedirects(this.options.guard, spec, context));
    const ms = Math.round(performance.now() - started);
    const ok = answer.status >= 200 && answer.status < 300;
    return { url: spec.url, status: answer.status, ok, ms, bytes: answer.bytes, value: answer.value };
  }

  /** Idempotent. Open connections are closed; requests still running fail. */
  close(): Promise<void> {
    return this.agents.close();
  }
}
