/**
 * `npm start` stopped the ways a user stops it: Ctrl-C in its terminal (SIGINT to the whole foreground
 * process group: npm, the launcher, and npm relaying it once more), or SIGTERM to npm alone (what
 * `timeout`, or a process manager that knows only npm's pid, sends). Either way every role runs its own
 * graceful shutdown and nothing is left running.
 */
import { isAlive } from '../utils/fault-cluster';
import { deletePrefix, testRedisUrl, uniquePrefix } from '../utils/redis';
import { spawnNpmStart, type RoleProcess } from '../utils/role-process';

const rejectAfter = (ms: number, message: string): Promise<never> => new Promise((_, reject) => setTimeout(() => reject(new Error(message)), ms).unref());

const GRACEFUL_ROLES = ['producer', 'dashboard', 'worker-host', 'worker'];

describe('npm start', () => {
  const prefixes: string[] = [];
  afterAll(async () => {
    for (const prefix of prefixes) await deletePrefix(prefix);
  });

  async function startEverything(): Promise<{ all: RoleProcess; pids: number[] }> {
    const prefix = uniquePrefix('npm-start');
    prefixes.push(prefix);
    const all = spawnNpmStart({
      REDIS_URL: testRedisUrl(),
      CHUNKMILL_PREFIX: prefix,
      HOST: '127.0.0.1',
      PORT: '0',
      DASHBOARD_PORT: '0',
      WORKER_METRICS_PORT: '0',
      WORKER_PROCESSES: '1',
    });
    await all.waitForLog((line) => line.msg === 'producer listening');
    await all.waitForLog((line) => line.msg === 'dashboard listening');
    await all.waitForLog((line) => line.msg === 'worker host started');
    await all.waitForLog((line) => line.msg === 'worker process ready');
    // Every process that logged: the three roles and the worker host's cluster child.
    const pids = [...new Set(all.lines.map((line) => line.pid).filter((pid): pid is number => typeof pid === 'number'))];
    return { all, pids };
  }

  it.each([
    ['SIGTERM to npm alone', (all: RoleProcess) => process.kill(all.pid, 'SIGTERM')],
    ['Ctrl-C (SIGINT to the process group)', (all: RoleProcess) => all.signalGroup('SIGINT')],
  ])(
    '%s stops every role gracefully and leaves nothing running',
    async (_how, send) => {
      const { all, pids } = await startEverything();
      try {
        expect(pids.length).toBe(4);
        send(all);
        // Closed once every process that shared npm's output (the roles too) is gone and all it wrote is read;
        // an orphaned role would keep it open, so the wait is bounded (and the finally below cleans up).
        await Promise.race([all.outputClosed, rejectAfter(30_000, 'a process of npm start is still running')]);
        expect(pids.filter(isAlive)).toEqual([]);
        const stopped = all.lines.filter((line) => line.msg === 'stopped').map((line) => line.role);
        expect(stopped.sort()).toEqual([...GRACEFUL_ROLES].sort());
        expect(all.lines.some((line) => line.msg === 'interrupted again: exiting now')).toBe(false);
      } finally {
        for (const pid of pids) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
        all.signalGroup('SIGKILL');
      }
    },
    60_000,
  );
});
