/**
 * Finding a Redis, or starting one: used by `npm start` and by the test suite, so that both need
 * nothing but `redis-server` on the PATH when no Redis is running.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

export const REDIS_INSTALL_HINT =
  'chunkmill needs Redis 6.2 or newer. Install it (Debian/Ubuntu: `sudo apt-get install redis-server`, ' +
  'macOS: `brew install redis`), or point REDIS_URL at a running Redis, or run `docker compose up`.';

/** Answers true when a Redis replies PONG at host:port within `timeoutMs`. */
export async function redisAnswers(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (answer: boolean): void => {
      socket.destroy();
      resolve(answer);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (data) => done(data.toString().startsWith('+PONG')));
  });
}

export function redisServerInstalled(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export interface RedisServerOptions {
  port: number;
  /** Data folder (AOF and RDB files); created when missing. */
  dir: string;
  /** Extra `redis-server` arguments, e.g. ['--maxmemory', '20mb']. */
  args?: string[];
}

/** A `redis-server` child process with its own port and data folder. */
export class RedisServer {
  private child?: ChildProcess;

  constructor(readonly options: RedisServerOptions) {}

  get url(): string {
    return `redis://127.0.0.1:${this.options.port}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async start(): Promise<void> {
    fs.mkdirSync(this.options.dir, { recursive: true });
    this.child = spawn(
      'redis-server',
      [
        '--port',
        String(this.options.port),
        '--bind',
        '127.0.0.1',
        '--dir',
        this.options.dir,
        '--appendonly',
        'yes',
        '--appendfsync',
        'everysec',
        '--maxmemory-policy',
        'noeviction',
        '--save',
        '',
        ...(this.options.args ?? []),
      ],
      // Its own process group: a Ctrl-C meant for chunkmill must not stop Redis before the roles.
      { stdio: 'ignore', detached: true },
    );
    const exited = new Promise<never>((_, reject) => this.child!.once('exit', (code) => reject(new Error(`redis-server exited with code ${code}`))));
    exited.catch(() => undefined);
    for (let waited = 0; waited < 10_000; waited += 50) {
      if (await Promise.race([redisAnswers('127.0.0.1', this.options.port, 200), exited])) return;
      await delay(50);
    }
    throw new Error(`redis-server did not answer on port ${this.options.port}`);
  }

  /** Stops the server: SIGTERM (it saves and exits), or SIGKILL with `{ hard: true }`. Idempotent. */
  async stop(options: { hard?: boolean } = {}): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(options.hard ? 'SIGKILL' : 'SIGTERM');
    await exited;
  }
}
