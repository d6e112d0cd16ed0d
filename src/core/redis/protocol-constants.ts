/**
 * The names the Lua scripts share with the TypeScript side, declared once here and handed to every
 * script as the Lua table `C` (see redis-script.ts): a status or separator is never spelled inside a
 * script.
 */
import { FINAL_STATUSES, WORKLOAD_STATUSES } from '../workload';

/** Separates the items of a chunk's packed outcomes (results-packing.ts); JSON text never holds it raw. */
export const SLOT_SEPARATOR = '\n';
/** Starts an item's slot when it failed: the rest of the slot is its error as JSON. No JSON value starts with it. */
export const ERROR_MARK = '!';

const luaString = (value: string): string => JSON.stringify(value);

let header: string | undefined;

/** The Lua prologue every script starts with. */
export function luaConstants(): string {
  if (header) return header;
  const statuses = WORKLOAD_STATUSES.map((status) => `${status} = ${luaString(status)}`).join(', ');
  const finals = [...FINAL_STATUSES].map((status) => `[${luaString(status)}] = true`).join(', ');
  header = [
    '-- Generated from src/core/redis/protocol-constants.ts',
    `local C = { status = { ${statuses} }, final = { ${finals} }, slotSeparator = ${luaString(SLOT_SEPARATOR)}, errorMark = ${luaString(ERROR_MARK)} }`,
  ].join('\n');
  return header;
}
