/**
 * `npm start`: every role on this machine (producer API, dashboard, worker host) against REDIS_URL.
 * With REDIS_URL unset and no Redis answering on 127.0.0.1:6379, it starts a `redis-server` child that
 * keeps its data under ./data; without `redis-server` installed, it says how to get one.
 * Ctrl-C, or a SIGTERM to npm alone, stops the roles first and Redis last; a second Ctrl-C stops them at once.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { DEFAULT_REDIS_URL, REDIS_INSTALL_HINT, RedisServer, redisAnswers, redisServerInstalled } from './core/redis-server';
import { ConfigError } from './core/errors';
import { SignalArrivals } from './core/signal-arrivals';
import { loadTasks } from './core/tasks/task-registry';

const ROLES = ['producer', 'dashboard', 'worker'] as const;

async function locateRedis(): Promise<{ url: string; server?: RedisServer }> {
  if (process.env.REDIS_URL) return { url: process.env.REDIS_URL };
  if (await redisAnswers('127.0.0.1', 6379)) return { url: DEFAULT_REDIS_URL };
  if (!redisServerInstalled()) {
    process.stderr.write(`chunkmill: no Redis answers on ${DEFAULT_REDIS_URL} and redis-server is not installed.\n${REDIS_INSTALL_HINT}\n`);
    process.exit(1);
  }
  const server = new RedisServer({ port: 6379, dir: path.resolve('data') });
  await server.start();
  process.stdout.write(`chunkmill: started redis-server on ${server.url} (data in ./data)\n`);
  return { url: server.url, server };
}

/** Task modules (CHUNKMILL_TASK_MODULES) every role could not use: one line and exit code 2, before anything starts. */
function checkTaskModules(): void {
  try {
    loadTasks();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`chunkmill: ${error.message}\n`);
    process.exit(2);
  }
}

async function main(): Promise<void> {
  checkTaskModules();
  const redis = await locateRedis();
  const children = new Map<string, ChildProcess>();
  let stopping = false;

  const stopAll = async (exitCode: number): Promise<void> => {
    if (stopping) {
      for (const child of children.values()) child.kill('SIGKILL');
      await redis.server?.stop();
      process.exit(1);
    }
    stopping = true;
    const exits = [...children.values()]
      .filter((child) => child.exitCode === null && child.signalCode === null)
      .map(
        (child) =>
          new Promise((resolve) => {
            child.once('exit', resolve);
            child.kill('SIGTERM');
          }),
      );
    await Promise.all(exits);
    await redis.server?.stop();
    process.exit(exitCode);
  };

  for (const role of ROLES) {
    // Each role in its own process group with an IPC channel: only this launcher relays Ctrl-C (as
    // SIGTERM, once, in order), and a role stops by itself if the launcher dies.
    const child = spawn(process.execPath, [path.join(__dirname, role, 'main.js')], {
      env: { ...process.env, REDIS_URL: redis.url },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      detached: true,
    });
    children.set(role, child);
    child.on('exit', (code, signal) => {
      if (stopping) return;
      process.stderr.write(`chunkmill: ${role} exited (code ${code}, signal ${signal}); stopping everything\n`);
      // A role refusing its configuration (code 2, its one line said why) is a configuration error of the whole.
      void stopAll(code === 2 ? 2 : 1);
    });
  }
  // A second signal means "now" (every role SIGKILLed), unless it is the first one delivered twice.
  const arrivals = new SignalArrivals();
  const onSignal = (): void => {
    if (arrivals.classify() !== 'echo') void stopAll(0);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

void main();
