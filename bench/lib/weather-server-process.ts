/**
 * The weather server (weather-server.ts) in a process of its own, for benchmarks: a real remote API does
 * not share the measuring client's event loop, and on the same loop a bare client and the server take
 * turns, which would charge the server's work to the client. The parent asks for the counters over IPC.
 *
 * Run directly (`node weather-server-process.js <delayMs>`), this file is the child.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { WeatherServer } from './weather-server';

type Stats = WeatherServer['stats'];
type Request = { id: number; command: 'stats' | 'resetPeaks' | 'closeIdleConnections' };
type Answer = { id: number; stats: Stats };

export interface WeatherServerProcess {
  origin: string;
  weatherUrl(city: string): string;
  stats(): Promise<Stats>;
  resetPeaks(): Promise<void>;
  closeIdleConnections(): Promise<void>;
  close(): Promise<void>;
}

export async function startWeatherServerProcess(delayMs: number): Promise<WeatherServerProcess> {
  const child: ChildProcess = fork(__filename, [String(delayMs)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (message) => resolve((message as { port: number }).port));
    child.once('exit', (code) => reject(new Error(`weather server process exited with code ${code}`)));
  });
  const origin = `http://127.0.0.1:${port}`;
  let nextId = 0;
  const pending = new Map<number, (stats: Stats) => void>();
  child.on('message', (message) => {
    const { id, stats } = message as Answer;
    pending.get(id)?.(stats);
    pending.delete(id);
  });
  const ask = (command: Request['command']): Promise<Stats> =>
    new Promise((resolve) => {
      const id = nextId++;
      pending.set(id, resolve);
      child.send({ id, command } satisfies Request);
    });
  return {
    origin,
    // The same URLs as WeatherServer.weatherUrl.
    weatherUrl: (city) => `${origin}/data/2.5/weather?${new URLSearchParams({ q: city, units: 'metric' })}`,
    stats: () => ask('stats'),
    resetPeaks: async () => void (await ask('resetPeaks')),
    closeIdleConnections: async () => void (await ask('closeIdleConnections')),
    async close() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

async function runChild(): Promise<void> {
  const server = await new WeatherServer({ delayMs: Number(process.argv[2] ?? 0) }).listen();
  process.on('message', (message) => {
    const { id, command } = message as Request;
    if (command === 'resetPeaks') server.resetPeaks();
    if (command === 'closeIdleConnections') server.closeIdleConnections();
    process.send!({ id, stats: { ...server.stats } } satisfies Answer);
  });
  process.once('SIGTERM', () => void server.close().then(() => process.exit(0)));
  // The parent gone (killed), this process goes too.
  process.once('disconnect', () => process.exit(0));
  process.send!({ port: server.port });
}

if (require.main === module) void runChild();
