/**
 * Mixed API load for the stall scenarios: small submissions back to back, and beside them listings,
 * status reads, short long-polls (`results?wait=`) and readiness checks. Every answer is timed and kept
 * (status, error code, Retry-After), and noted in the scenario's ledger, whose summary row then shows
 * the slowest request. A request that got no answer at all within `giveUpMs` counts with that time.
 */
import { expectValues } from './exactly-once-audit';
import type { FaultCluster } from './fault-cluster';

export interface TimedAnswer {
  kind: 'submit' | 'list' | 'status' | 'results' | 'readyz';
  status: number;
  code?: string;
  retryAfter?: string;
  at: number;
  ms: number;
}

export interface RequestLoadOptions {
  /**
   * Pause between two submissions, ms.
   * @defaultValue 50
   */
  submitPauseMs?: number;
  /**
   * Pause between two rounds of reads (list, status, results?wait=1000, readyz), ms.
   * @defaultValue 100
   */
  readPauseMs?: number;
  /**
   * How long a request may go unanswered before the client gives up on it (counted as taking this long).
   * @defaultValue 30000
   */
  giveUpMs?: number;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
export const sumSquaresBelow = (n: number): number => ((n - 1) * n * (2 * n - 1)) / 6;

export class RequestLoad {
  readonly answers: TimedAnswer[] = [];
  private running = true;
  private readonly loops: Array<Promise<void>>;
  private readonly options: Required<RequestLoadOptions>;

  constructor(
    private readonly cluster: FaultCluster,
    options: RequestLoadOptions = {},
  ) {
    this.options = { submitPauseMs: 50, readPauseMs: 100, giveUpMs: 30_000, ...options };
    this.loops = [this.submitLoop(), this.readLoop()];
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  /** The answers to requests sent after `from` and answered before `to`. */
  between(from: number, to: number): TimedAnswer[] {
    return this.answers.filter((answer) => answer.at >= from && answer.at + answer.ms <= to);
  }

  get slowest(): TimedAnswer | undefined {
    return this.answers.reduce<TimedAnswer | undefined>((slowest, answer) => (!slowest || answer.ms > slowest.ms ? answer : slowest), undefined);
  }

  private async timed(
    kind: TimedAnswer['kind'],
    send: (signal: AbortSignal) => Promise<{ status: number; body: any; headers?: Headers }>,
  ): Promise<TimedAnswer> {
    const at = Date.now();
    let answer: TimedAnswer;
    try {
      const { status, body, headers } = await send(AbortSignal.timeout(this.options.giveUpMs));
      answer = { kind, status, code: body?.error?.code, retryAfter: headers?.get('retry-after') ?? undefined, at, ms: Date.now() - at };
    } catch (error) {
      answer = { kind, status: 0, code: (error as Error).name, at, ms: Date.now() - at };
    }
    this.answers.push(answer);
    this.cluster.ledger.noteRequest(answer.ms);
    return answer;
  }

  private async request(path: string, signal: AbortSignal, init: RequestInit = {}): Promise<{ status: number; body: any; headers: Headers }> {
    const response = await fetch(`${this.cluster.api.baseUrl}${path}`, { ...init, signal });
    const text = await response.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
    return { status: response.status, body, headers: response.headers };
  }

  private async submitLoop(): Promise<void> {
    for (let n = 1; this.running; n++) {
      const inputs = [n, n + 1, n + 2, n + 3, n + 4];
      await this.timed('submit', async (signal) => {
        const answer = await this.request('/v1/workloads', signal, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ type: 'compute', task: 'sumSquares', inputs, chunkSize: 2 }),
        });
        if (answer.status === 202) this.cluster.ledger.accept(answer.body.id, expectValues(inputs.map(sumSquaresBelow)));
        return answer;
      });
      await sleep(this.options.submitPauseMs);
    }
  }

  private async readLoop(): Promise<void> {
    while (this.running) {
      const ids = this.cluster.ledger.ids;
      const someId = ids[Math.floor(Math.random() * ids.length)];
      await Promise.all([
        this.timed('list', (signal) => this.request('/v1/workloads?limit=20', signal)),
        this.timed('readyz', (signal) => this.request('/readyz', signal)),
        ...(someId
          ? [
              this.timed('status', (signal) => this.request(`/v1/workloads/${someId}`, signal)),
              this.timed('results', (signal) => this.request(`/v1/workloads/${ids[ids.length - 1]}/results?wait=1000`, signal)),
            ]
          : []),
      ]);
      await sleep(this.options.readPauseMs);
    }
  }
}
