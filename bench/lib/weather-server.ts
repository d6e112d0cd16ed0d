/**
 * A local HTTP server on 127.0.0.1 that answers like the notebook's weather API, after a set delay, and
 * counts what a polite client must keep low: open connections and requests in flight (both now and at
 * their peak). The fetch tests and the fetch benchmark both use it. A few extra routes misbehave on
 * purpose: 503 before success, a body that is too large, a redirect loop.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export const CITIES = [
  'Boulder',
  'Atlanta',
  'San Francisco',
  'Reno',
  'Honolulu',
  'Zurich',
  'Dubai',
  'Dublin',
  'Stuttgart',
  'Rome',
  'Singapore',
  'Bangalore',
  'Hyderabad',
  'Hong Kong',
  'Durham',
  'New Orleans',
  'Portland',
] as const;

/** A city's made-up but stable temperature, so a test can tell every answer from every other. */
export function temperatureOf(city: string): number {
  let hash = 0;
  for (const char of city) hash = (hash * 31 + char.charCodeAt(0)) % 1000;
  return Math.round((hash / 1000) * 400 - 50) / 10;
}

export interface WeatherServerOptions {
  /** Delay before every answer. @defaultValue 0 */
  delayMs?: number;
}

export class WeatherServer {
  /** `firstRequestAt` and `lastAnswerAt` are wall-clock ms (Date.now()) since the last resetPeaks, 0 for none. */
  readonly stats = { openConnections: 0, maxOpenConnections: 0, inFlight: 0, maxInFlight: 0, requests: 0, firstRequestAt: 0, lastAnswerAt: 0 };
  /** Requests seen per `key` on /flaky. */
  private readonly flakyCounts = new Map<string, number>();
  private readonly server: http.Server;
  private readonly timers = new Set<NodeJS.Timeout>();
  port = 0;

  constructor(private readonly options: WeatherServerOptions = {}) {
    this.server = http.createServer((request, response) => this.answer(request, response));
    this.server.keepAliveTimeout = 5000;
    this.server.on('connection', (socket) => {
      this.stats.openConnections++;
      this.stats.maxOpenConnections = Math.max(this.stats.maxOpenConnections, this.stats.openConnections);
      socket.on('close', () => this.stats.openConnections--);
    });
  }

  get origin(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  weatherUrl(city: string): string {
    return `${this.origin}/data/2.5/weather?${new URLSearchParams({ q: city, units: 'metric' })}`;
  }

  async listen(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  /** Forgets the peaks (not the open connections: those are still open). */
  resetPeaks(): void {
    this.stats.maxOpenConnections = this.stats.openConnections;
    this.stats.maxInFlight = this.stats.inFlight;
    this.stats.requests = 0;
    this.stats.firstRequestAt = 0;
    this.stats.lastAnswerAt = 0;
  }

  /** Drops every idle keep-alive connection, so the next measurement starts from none. */
  closeIdleConnections(): void {
    this.server.closeIdleConnections();
  }

  async close(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private answer(request: http.IncomingMessage, response: http.ServerResponse): void {
    this.stats.requests++;
    if (this.stats.firstRequestAt === 0) this.stats.firstRequestAt = Date.now();
    this.stats.inFlight++;
    this.stats.maxInFlight = Math.max(this.stats.maxInFlight, this.stats.inFlight);
    let counted = true;
    const done = (): void => {
      if (counted) this.stats.inFlight--;
      counted = false;
    };
    response.on('close', done);
    const url = new URL(request.url ?? '/', this.origin);
    const delayMs = Number(url.searchParams.get('delay') ?? this.options.delayMs ?? 0);
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.route(url, response);
      this.stats.lastAnswerAt = Date.now();
    }, delayMs);
    this.timers.add(timer);
  }

  private route(url: URL, response: http.ServerResponse): undefined {
    const json = (status: number, body: unknown, headers: Record<string, string> = {}): undefined => {
      response.writeHead(status, { 'content-type': 'application/json', ...headers });
      response.end(JSON.stringify(body));
      return undefined;
    };
    switch (url.pathname) {
      case '/data/2.5/weather': {
        const city = url.searchParams.get('q') ?? '';
        if (!(CITIES as readonly string[]).includes(city)) return json(404, { cod: '404', message: 'city not found' });
        return json(200, { name: city, main: { temp: temperatureOf(city), humidity: 50 }, cod: 200 });
      }
      case '/flaky': {
        // 503 for the first `fail` requests of a key, then 200.
        const key = url.searchParams.get('key') ?? '';
        const seen = (this.flakyCounts.get(key) ?? 0) + 1;
        this.flakyCounts.set(key, seen);
        if (seen <= Number(url.searchParams.get('fail') ?? 1)) return json(503, { error: 'busy' }, { 'retry-after': '0' });
        return json(200, { attempt: seen });
      }
      case '/big': {
        response.writeHead(200, { 'content-type': 'text/plain' });
        // Streamed without a content-length, so the client must count as it reads.
        let left = Number(url.searchParams.get('bytes') ?? 1_000_000);
        while (left > 0) {
          const part = Math.min(left, 64 * 1024);
          response.write('x'.repeat(part));
          left -= part;
        }
        response.end();
        return;
      }
      case '/loop-a':
        response.writeHead(302, { location: '/loop-b' });
        return void response.end();
      case '/loop-b':
        response.writeHead(302, { location: '/loop-a' });
        return void response.end();
      case '/redirect':
        response.writeHead(302, { location: url.searchParams.get('to') ?? '/' });
        return void response.end();
      default:
        return json(200, { path: url.pathname });
    }
  }
}
