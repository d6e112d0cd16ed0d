import { ECHO_WINDOW_MS, SignalArrivals } from '../../src/core/signal-arrivals';

describe('SignalArrivals', () => {
  it('calls the first signal first, the same one delivered again an echo, and a later one a repeat', () => {
    let now = 1_000;
    const arrivals = new SignalArrivals(() => now);
    expect(arrivals.classify()).toBe('first');
    now += 5;
    expect(arrivals.classify()).toBe('echo');
    now += ECHO_WINDOW_MS;
    expect(arrivals.classify()).toBe('repeat');
    expect(arrivals.classify()).toBe('repeat');
  });
});
