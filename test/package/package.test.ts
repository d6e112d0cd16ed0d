/**
 * chunkmill as a user gets it: `npm pack` of both packages, installed from the tarballs into fresh
 * projects outside the repository. A task module in TypeScript (`import { defineTask } from
 * 'chunkmill/tasks'`) and a client (`import { Pool } from 'chunkmill'`) type-check with the project's
 * own tsconfig (moduleResolution node16 and node10), a stack started from the installed files runs the
 * custom task, and `@chunkmill/client` installed alone has no dependencies and works against it too.
 * npm installs from its cache where it can (--prefer-offline): only the npm registry is needed. chunkmill
 * bundles @chunkmill/client (bundleDependencies), so that an install from a git checkout needs no registry
 * copy of it; the client's tarball is installed beside it as a user of both would.
 */
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { deletePrefix, testRedisUrl, uniquePrefix } from '../utils/redis';
import { RoleProcess } from '../utils/role-process';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '../..');
const TSC = path.join(ROOT, 'node_modules/typescript/bin/tsc');
const NPM_INSTALL = ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'];

/** The environment of the npm and node commands run here: none of `npm test`'s own package variables. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^(npm_package_|npm_lifecycle_|INIT_CWD$)/.test(name)));
  return { ...env, ...extra };
}

async function sh(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = cleanEnv()): Promise<string> {
  try {
    const { stdout } = await run(command, args, { cwd, env, maxBuffer: 64 * 1024 * 1024 });
    return stdout;
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`${command} ${args.join(' ')} (in ${cwd}) failed:\n${stdout ?? ''}\n${stderr ?? ''}`);
  }
}

function write(file: string, text: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
}

const json = (value: unknown): string => `${JSON.stringify(value, null, 2)}\n`;

/** The README's task module, with the import the docs show (the fixture the repository's own type-check compiles). */
const FIB_TASK = fs.readFileSync(path.join(__dirname, '../fixtures/fib-task.ts'), 'utf8').replace(/^\/\/.*\n/, '');

/** A client of the full package: the built-in tasks typed by default, the custom task typed by its definition. */
const CHUNKMILL_CLIENT = `import { Pool } from 'chunkmill';
import type { BuiltInTaskTypes, TaskTypesOf } from 'chunkmill';
import type { fib } from './tasks/fib';

async function main(): Promise<void> {
  const builtIn = new Pool({ url: process.env.CHUNKMILL_URL });
  const squares: (number | string)[] = await builtIn.map('sumSquares', [2000, 3]);
  const pool = new Pool<BuiltInTaskTypes & TaskTypesOf<[typeof fib]>>({ url: process.env.CHUNKMILL_URL });
  const fibs: (number | string)[] = await pool.map('fib', [0, 1, 10, 90]);
  process.stdout.write(JSON.stringify({ squares, fibs }));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
`;

/** A client of @chunkmill/client alone: any task name, unknown outputs, the SDK's errors. */
const CLIENT_ONLY = `import { ChunkmillApiError, Pool } from '@chunkmill/client';

async function main(): Promise<void> {
  const pool = new Pool({ url: process.env.CHUNKMILL_URL });
  const fibs: unknown[] = await pool.map('fib', [20, 100]);
  let refused = '';
  try {
    await pool.map('noSuchTask', [1]);
  } catch (error) {
    if (error instanceof ChunkmillApiError) refused = error.code;
  }
  process.stdout.write(JSON.stringify({ fibs, refused }));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
`;

const TSCONFIG_NODE16 = {
  compilerOptions: {
    target: 'ES2022',
    module: 'node16',
    moduleResolution: 'node16',
    strict: true,
    esModuleInterop: true,
    // The packages' declarations are checked too, not only the files that use them.
    skipLibCheck: false,
    types: ['node'],
    rootDir: '.',
    outDir: 'dist',
  },
  include: ['*.ts', 'tasks/*.ts'],
};

const TSCONFIG_NODE10 = {
  compilerOptions: { ...TSCONFIG_NODE16.compilerOptions, module: 'commonjs', moduleResolution: 'node10', noEmit: true, skipLibCheck: true },
  include: TSCONFIG_NODE16.include,
};

describe('the packages, installed from their tarballs', () => {
  let work: string;
  let app: string;
  let clientApp: string;
  const roles: RoleProcess[] = [];
  const prefix = uniquePrefix('package');

  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'chunkmill-package-'));
    // The build is npm test's (pretest): pack it as it is.
    const packed = async (args: string[]): Promise<string> => {
      const [{ filename }] = JSON.parse(await sh('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work, ...args], ROOT)) as {
        filename: string;
      }[];
      return path.join(work, filename);
    };
    const serverTarball = await packed([]);
    const clientTarball = await packed(['--workspace', 'packages/client']);

    app = path.join(work, 'app');
    write(path.join(app, 'package.json'), json({ name: 'chunkmill-user', private: true }));
    await sh('npm', [...NPM_INSTALL, clientTarball, serverTarball, 'zod@^4', '@types/node@^20'], app);

    clientApp = path.join(work, 'client-app');
    write(path.join(clientApp, 'package.json'), json({ name: 'chunkmill-client-user', private: true }));
    await sh('npm', [...NPM_INSTALL, clientTarball], clientApp);
  }, 600_000);

  afterAll(async () => {
    await Promise.all(roles.map((role) => role.stop('SIGTERM', 15_000)));
    await deletePrefix(prefix);
    if (work) fs.rmSync(work, { recursive: true, force: true });
  }, 60_000);

  it('ships the build and the entry points, not tests, bench or source maps', () => {
    const installed = path.join(app, 'node_modules/chunkmill');
    const files = fs.readdirSync(installed, { recursive: true, encoding: 'utf8' }).filter((file) => !file.startsWith('node_modules'));
    expect(files.filter((file) => /(^|\/)(test|bench)(\/|$)|\.map$|\.test\./.test(file))).toEqual([]);
    for (const file of [
      'dist/src/index.js',
      'dist/src/tasks.d.ts',
      'dist/src/producer/index.js',
      'dist/src/core/redis/lua/record-chunk.lua',
      'src/dashboard/live-page/index.html',
    ]) {
      expect(fs.existsSync(path.join(installed, file))).toBe(true);
    }
  });

  it('`chunkmill` loads only the client; `chunkmill/tasks` no server code; the roles resolve', async () => {
    const script = `
      const loaded = () => Object.keys(require.cache).map((file) => require('path').relative(process.cwd(), file));
      const sdk = require('chunkmill');
      const afterSdk = loaded();
      require('chunkmill/tasks');
      const afterTasks = loaded();
      const roles = ['producer', 'worker', 'dashboard'].map((role) => Object.keys(require('chunkmill/' + role)).sort());
      process.stdout.write(JSON.stringify({ exports: Object.keys(sdk).sort(), afterSdk, afterTasks, roles }));
    `;
    const answer = JSON.parse(await sh(process.execPath, ['-e', script], app)) as {
      exports: string[];
      afterSdk: string[];
      afterTasks: string[];
      roles: string[][];
    };
    expect(answer.exports).toEqual(expect.arrayContaining(['Pool', 'ChunkmillApiError', 'ItemFailedError', 'WorkloadLostError']));
    // chunkmill bundles its @chunkmill/client (installs from git need no registry copy of it).
    for (const file of answer.afterSdk)
      expect(file).toMatch(/^node_modules\/(chunkmill\/dist\/src\/index\.js|(chunkmill\/node_modules\/)?@chunkmill\/client\/dist\/)/);
    for (const file of answer.afterTasks) expect(file).not.toMatch(/node_modules\/(bullmq|express|ioredis|zod|pino)\//);
    expect(answer.roles[0]).toEqual(expect.arrayContaining(['runProducer', 'startProducer', 'createProducer', 'loadConfig']));
    expect(answer.roles[1]).toEqual(expect.arrayContaining(['runWorker', 'startWorkerHost', 'startWorkerProcess', 'loadConfig']));
    expect(answer.roles[2]).toEqual(expect.arrayContaining(['runDashboard', 'startDashboard', 'loadConfig']));
    // The CLI, from the package's bin.
    expect((await sh(path.join(app, 'node_modules/.bin/chunkmill'), ['--version'], app)).trim()).toBe('0.1.0');
  }, 60_000);

  it('@chunkmill/client installs with no dependencies', () => {
    const installed = fs.readdirSync(path.join(clientApp, 'node_modules')).filter((name) => !name.startsWith('.'));
    expect(installed).toEqual(['@chunkmill']);
    expect(fs.readdirSync(path.join(clientApp, 'node_modules/@chunkmill'))).toEqual(['client']);
    const manifest = JSON.parse(fs.readFileSync(path.join(clientApp, 'node_modules/@chunkmill/client/package.json'), 'utf8')) as Record<string, unknown>;
    expect(manifest.dependencies ?? {}).toEqual({});
  });

  it('a TypeScript task module and client type-check (node16 and node10) and run against a stack started from the package', async () => {
    write(path.join(app, 'tasks/fib.ts'), FIB_TASK);
    write(path.join(app, 'client.ts'), CHUNKMILL_CLIENT);
    write(path.join(app, 'tsconfig.json'), json(TSCONFIG_NODE16));
    write(path.join(app, 'tsconfig.node10.json'), json(TSCONFIG_NODE10));
    await sh(process.execPath, [TSC, '-p', 'tsconfig.node10.json'], app);
    await sh(process.execPath, [TSC, '-p', 'tsconfig.json'], app);

    // The client alone, type-checked with the repository's @types/node (its node_modules stays empty of others).
    write(path.join(clientApp, 'client.ts'), CLIENT_ONLY);
    const typeRoots = [path.join(ROOT, 'node_modules/@types')];
    write(path.join(clientApp, 'tsconfig.json'), json({ ...TSCONFIG_NODE16, compilerOptions: { ...TSCONFIG_NODE16.compilerOptions, typeRoots } }));
    write(path.join(clientApp, 'tsconfig.node10.json'), json({ ...TSCONFIG_NODE10, compilerOptions: { ...TSCONFIG_NODE10.compilerOptions, typeRoots } }));
    await sh(process.execPath, [TSC, '-p', 'tsconfig.node10.json'], clientApp);
    await sh(process.execPath, [TSC, '-p', 'tsconfig.json'], clientApp);

    // The stack, from the installed files, with the compiled task module named as a user names it.
    const env = cleanEnv({
      LOG_LEVEL: 'info',
      REDIS_URL: testRedisUrl(),
      CHUNKMILL_PREFIX: prefix,
      CHUNKMILL_TASK_MODULES: './dist/tasks/fib.js',
      HOST: '127.0.0.1',
      PORT: '0',
      WORKER_METRICS_PORT: '0',
      WORKER_PROCESSES: '1',
      WORKER_THREADS: '1',
    });
    const startRole = (role: 'producer' | 'worker'): RoleProcess => {
      // The role's command, as npm installed it (`npx chunkmill-producer`).
      const command = path.join(app, 'node_modules/.bin', `chunkmill-${role}`);
      const child = spawn(command, [], { cwd: app, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
      const roleProcess = new RoleProcess(role, child);
      roles.push(roleProcess);
      return roleProcess;
    };
    const producer = startRole('producer');
    const worker = startRole('worker');
    const { port } = await producer.waitForLog((line) => line.msg === 'producer listening');
    await worker.waitForLog((line) => line.msg === 'worker process ready');
    const url = `http://127.0.0.1:${port}`;

    const answer = JSON.parse(await sh(process.execPath, ['dist/client.js'], app, cleanEnv({ CHUNKMILL_URL: url })));
    expect(answer).toEqual({ squares: [2664667000, 5], fibs: [0, 1, 55, '2880067194370816120'] });

    const clientAnswer = JSON.parse(await sh(process.execPath, ['dist/client.js'], clientApp, cleanEnv({ CHUNKMILL_URL: url })));
    expect(clientAnswer).toEqual({ fibs: [6765, '354224848179261915075'], refused: 'VALIDATION_FAILED' });
  }, 180_000);
});
