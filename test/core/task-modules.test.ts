/**
 * CHUNKMILL_TASK_MODULES naming a module that cannot be used (missing, throws while loading, exports no
 * task, or a task whose name is taken): every role that runs tasks, started as a user starts it, refuses
 * to start with exit code 2 and one line naming the variable, the path and the reason. No stack trace.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { testRedisUrl, uniquePrefix } from '../utils/redis';
import { spawnNpmStart, spawnRole, type RoleProcess } from '../utils/role-process';

interface BadModule {
  name: string;
  /** The module's source; none for a module that does not exist. */
  source?: string;
  reason: RegExp;
}

const BAD_MODULES: BadModule[] = [
  { name: 'nope.js', reason: /no such module/ },
  { name: 'throws.js', source: "throw new Error('the task module is broken');\n", reason: /failed to load: the task module is broken$/ },
  { name: 'empty.js', source: 'module.exports = { notATask: 42 };\n', reason: /exports no task definition/ },
  {
    name: 'clash.js',
    source: "module.exports = { name: 'sumSquares', description: '', input: { safeParse() {} }, output: 'integer', deterministic: true, run: (n) => n };\n",
    reason: /a task named "sumSquares" is defined already \(built in\)$/,
  },
];

const ROLES = ['producer', 'worker', 'npm start'] as const;

describe('a task module that cannot be used', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chunkmill-task-modules-'));
    for (const bad of BAD_MODULES) if (bad.source !== undefined) fs.writeFileSync(path.join(dir, bad.name), bad.source);
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  function start(role: (typeof ROLES)[number], modulePath: string): RoleProcess {
    const env = {
      REDIS_URL: testRedisUrl(),
      CHUNKMILL_PREFIX: uniquePrefix('task-modules'),
      HOST: '127.0.0.1',
      PORT: '0',
      DASHBOARD_PORT: '0',
      WORKER_METRICS_PORT: '0',
      WORKER_PROCESSES: '1',
      CHUNKMILL_TASK_MODULES: modulePath,
    };
    return role === 'npm start' ? spawnNpmStart(env) : spawnRole(role, { env });
  }

  for (const bad of BAD_MODULES) {
    it(`${bad.name}: producer, worker and npm start exit 2 with one line`, async () => {
      const modulePath = path.join(dir, bad.name);
      const roles = ROLES.map((role) => ({ role, process: start(role, modulePath) }));
      try {
        for (const { role, process } of roles) {
          const { code } = await process.exited;
          await process.outputClosed;
          const lines = process.output.filter((line) => line.trim() !== '');
          expect({ role, code, lines }).toEqual({ role, code: 2, lines: [expect.stringContaining(`CHUNKMILL_TASK_MODULES: ${modulePath}: `)] });
          expect(lines[0]).toMatch(bad.reason);
          expect(lines[0]).toMatch(/^chunkmill( producer| worker-host)?: CHUNKMILL_TASK_MODULES: /);
        }
      } finally {
        for (const { process } of roles) process.signalGroup('SIGKILL');
      }
    });
  }
});
