/**
 * chunkmill's Redis protocol: every Lua script lives in its own file under `lua/`, and reaches the rest
 * of the code only as a typed function made here: named keys and arguments in, a decoded answer out.
 *
 * A script file may pull in shared snippets with a line `--!include <name>.lua` (from `lua/include/`),
 * and may use the constants of `protocol-constants.ts` (statuses, channel suffixes) that every script
 * gets as a Lua table `C`: what the TypeScript names is never spelled again inside the Lua.
 *
 * Keys and arguments are passed in the order the definition lists them, so a script's file and its
 * definition must agree: each definition sits next to the class that uses it, and each script has its
 * own test (test/core/redis/).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { ChainableCommander } from 'ioredis';
import type { RedisClient } from '../redis-connection';
import { luaConstants } from './protocol-constants';

/** Where the script files are: next to this module, in source and in the build alike (see package.json's postbuild). */
const LUA_DIR = path.join(__dirname, 'lua');

const INCLUDE = /^--!include\s+(\S+)\s*$/gm;

/** A script's text with its includes resolved (each at most once) and the shared constants in front. */
export function loadLua(file: string): string {
  const included = new Set<string>();
  const resolve = (text: string): string =>
    text.replace(INCLUDE, (_, name: string) => {
      if (included.has(name)) return '';
      included.add(name);
      return resolve(readFileSync(path.join(LUA_DIR, 'include', name), 'utf8'));
    });
  return `${luaConstants()}\n${resolve(readFileSync(path.join(LUA_DIR, `${file}.lua`), 'utf8'))}`;
}

type Value = string | number | Buffer;

export interface ScriptDefinition<K extends string, A extends string, R> {
  /** The file under `lua/`, without `.lua`. */
  file: string;
  /** The keys, in the order the script reads them as KEYS[1], KEYS[2], … */
  keys: readonly K[];
  /** The arguments, in the order the script reads them as ARGV[1], ARGV[2], … (a variadic tail may follow). */
  args: readonly A[];
  /** Turns Redis's reply into the script's typed answer. */
  decode: (reply: unknown) => R;
  /** Bulk strings in the reply come as Buffers (big texts that are not to become JavaScript strings). */
  buffers?: boolean;
}

export interface RedisScript<K extends string, A extends string, R> {
  readonly definition: ScriptDefinition<K, A, R>;
  /** Runs the script on `redis` and answers its decoded reply; a Lua error rejects. */
  run(redis: RedisClient, keys: Record<K, string>, args: Record<A, Value>, rest?: readonly Value[]): Promise<R>;
  /**
   * Adds the script to a pipeline or transaction of a client it was installed on (`install`); the
   * reply at its position decodes with `decode`.
   */
  queue(pipeline: ChainableCommander, keys: Record<K, string>, args: Record<A, Value>, rest?: readonly Value[]): void;
  decode(reply: unknown): R;
}

/** Clients each script was installed on (defineCommand once per client; pipelines inherit it). */
const installed = new WeakMap<object, Set<string>>();

export function defineScript<K extends string, A extends string, R>(definition: ScriptDefinition<K, A, R>): RedisScript<K, A, R> {
  const command = `chunkmill:${definition.file}`;
  // ioredis defines each command twice: its name, and with `Buffer` appended for replies as Buffers.
  const call = definition.buffers ? `${command}Buffer` : command;
  const argv = (keys: Record<K, string>, args: Record<A, Value>, rest: readonly Value[] = []): Value[] => [
    ...definition.keys.map((name) => keys[name]),
    ...definition.args.map((name) => args[name]),
    ...rest,
  ];
  const script: RedisScript<K, A, R> = {
    definition,
    async run(redis, keys, args, rest) {
      install(redis, script);
      const run = (redis as unknown as Record<string, (...values: Value[]) => Promise<unknown>>)[call];
      return definition.decode(await run.apply(redis, argv(keys, args, rest)));
    },
    queue(pipeline, keys, args, rest) {
      const queue = (pipeline as unknown as Record<string, ((...values: Value[]) => unknown) | undefined>)[call];
      if (!queue) throw new Error(`Script ${definition.file} was not installed on this pipeline's client (call install first)`);
      queue.apply(pipeline, argv(keys, args, rest));
    },
    decode: definition.decode,
  };
  return script;
}

/** Defines the scripts as commands of `redis` (once per client), so that its pipelines can queue them. */
export function install(redis: RedisClient, ...scripts: Array<RedisScript<string, string, unknown>>): void {
  let names = installed.get(redis);
  if (!names) installed.set(redis, (names = new Set()));
  for (const script of scripts) {
    const command = `chunkmill:${script.definition.file}`;
    if (names.has(command)) continue;
    redis.defineCommand(command, { numberOfKeys: script.definition.keys.length, lua: loadLua(script.definition.file) });
    names.add(command);
  }
}

/** Common decoders. */
export const decode = {
  numbers: (reply: unknown): number[] => (reply as unknown[]).map(Number),
};
