/**
 * Tells a second Ctrl-C from the same Ctrl-C delivered twice.
 *
 * `npm start` and `npm run <role>` exec the role in npm's place of the shell (so that a SIGTERM sent to
 * npm alone, as `timeout` or a process manager sends it, reaches the role instead of orphaning it). The
 * price: one Ctrl-C in a terminal now reaches the role twice, once from the terminal (to the whole
 * foreground process group) and once relayed by npm a few milliseconds later. A signal that comes within
 * ECHO_WINDOW_MS of the first is that echo, not a user asking for a hard stop.
 */
export const ECHO_WINDOW_MS = 500;

export type SignalArrival = 'first' | 'echo' | 'repeat';

export class SignalArrivals {
  private firstAt: number | undefined;

  constructor(private readonly now: () => number = Date.now) {}

  /** Where a shutdown signal stands: the first, the first delivered again, or a real repeat. */
  classify(): SignalArrival {
    const now = this.now();
    if (this.firstAt === undefined) {
      this.firstAt = now;
      return 'first';
    }
    return now - this.firstAt < ECHO_WINDOW_MS ? 'echo' : 'repeat';
  }
}
