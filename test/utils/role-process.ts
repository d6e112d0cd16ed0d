/**
 * Runs chunkmill's roles as real processes, the way a user starts them, from the build in dist/.
 * Their JSON log lines are kept so that tests can wait for them and show them when something fails.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

export type Role = 'producer' | 'worker' | 'dashboard';

const ROOT = path.resolve(__dirname, '../..');

export interface LogLine {
  msg?: string;
  [field: string]: unknown;
}

export class RoleProcess {
  readonly lines: LogLine[] = [];
  readonly output: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves once every process holding the role's stdout/stderr is gone and all of its output is read. */
  readonly outputClosed: Promise<void>;
  private readonly waiters = new Set<() => void>();
  /** True once the role's output has ended: every process holding its stdout/stderr is gone. */
  private outputEnded = false;

  constructor(
    readonly role: Role | 'start',
    readonly child: ChildProcess,
  ) {
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    let pending = '';
    const onData = (chunk: Buffer): void => {
      pending += chunk.toString();
      const complete = pending.split('\n');
      pending = complete.pop() ?? '';
      for (const text of complete) {
        this.output.push(text);
        try {
          this.lines.push(JSON.parse(text) as LogLine);
        } catch {
          // not a log line (npm's banner, a stack trace): kept in `output` only
        }
      }
      for (const wake of this.waiters) wake();
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    this.outputClosed = new Promise((resolve) =>
      child.once('close', () => {
        this.outputEnded = true;
        for (const wake of this.waiters) wake();
        resolve();
      }),
    );
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Resolves with the first log line that matches, waiting up to `timeoutMs`. */
  async waitForLog(match: (line: LogLine) => boolean, timeoutMs = 20_000, count = 1): Promise<LogLine> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.lines.filter(match);
      if (found.length >= count) return found[count - 1];
      // Under `npm run`, npm may exit before the role: wait as long as anyone still writes the output.
      if (this.outputEnded) {
        throw new Error(`${this.role} exited before the expected log line:\n${this.output.slice(-30).join('\n')}`);
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${this.role}: expected log line not seen in ${timeoutMs} ms:\n${this.output.slice(-30).join('\n')}`);
      await new Promise<void>((resolve) => {
        const wake = (): void => {
          this.waiters.delete(wake);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(wake, Math.min(left, 200));
        this.waiters.add(wake);
      });
    }
  }

  /**
   * Sends `signal` to the role's whole process group, as a terminal's Ctrl-C or a service manager
   * does (so `npm run` and its shell get it too), and waits for the exit. Whatever is left after
   * `timeoutMs` is SIGKILLed.
   */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 30_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    this.signalGroup(signal);
    const timer = setTimeout(() => this.signalGroup('SIGKILL'), timeoutMs);
    const exit = await this.exited;
    clearTimeout(timer);
    if (signal === 'SIGKILL') this.signalGroup('SIGKILL');
    return exit;
  }

  /** Sends a signal to the role's process group (the role and everything it started). */
  signalGroup(signal: NodeJS.Signals): void {
    try {
      process.kill(-this.pid, signal);
    } catch {
      // the group is gone already
    }
  }
}

export interface StartRoleOptions {
  env: Record<string, string>;
  /** Start through `npm run <role>` as a user would, rather than `node dist/...`. */
  viaNpm?: boolean;
  /** A command that runs the role, e.g. `ip netns exec <ns>` (it must exec the role, keeping its pid). */
  wrap?: string[];
}

export function spawnRole(role: Role, options: StartRoleOptions): RoleProcess {
  const env = { ...process.env, LOG_LEVEL: 'info', ...options.env };
  const [program, programArgs] = options.viaNpm ? ['npm', ['run', '--silent', role]] : [process.execPath, [path.join(ROOT, 'dist/src', role, 'main.js')]];
  const [command, args] = options.wrap?.length ? [options.wrap[0], [...options.wrap.slice(1), program, ...programArgs]] : [program, programArgs];
  // Its own process group, so that stop() reaches every process the role started and nothing else.
  const child = spawn(command, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  return new RoleProcess(role, child);
}

/** `npm start` as a user runs it (every role, against `env.REDIS_URL`), without its build step: the suite built dist/ already. */
export function spawnNpmStart(env: Record<string, string>): RoleProcess {
  const child = spawn('npm', ['start', '--ignore-scripts', '--silent'], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  return new RoleProcess('start', child);
}

/** Starts a role and waits until it is ready; answers the process and, for HTTP roles, its port. */
export async function startRole(role: Role, options: StartRoleOptions): Promise<{ process: RoleProcess; port?: number }> {
  const roleProcess = spawnRole(role, options);
  if (role === 'worker') {
    const processes = Number(options.env.WORKER_PROCESSES ?? 1);
    await roleProcess.waitForLog((line) => line.msg === 'worker process ready', 20_000, processes);
    // Registered too (its first heartbeat is written), so that later key counts do not see it arrive.
    await roleProcess.waitForLog((line) => line.msg === 'worker host started', 20_000);
    return { process: roleProcess };
  }
  const listening = await roleProcess.waitForLog((line) => line.msg === `${role} listening`);
  // It listens at once, before Redis: ready (Redis answered, queues initialised) comes next.
  await roleProcess.waitForLog((line) => line.msg === `${role} ready`);
  return { process: roleProcess, port: Number(listening.port) };
}
