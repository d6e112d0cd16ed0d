/** What every command gets: a Pool for the URL and token chosen, and how to write its output. */
import { InvalidArgumentError } from 'commander';
import { Pool } from '@chunkmill/client';

export interface GlobalOptions {
  url: string;
  token?: string;
}

export interface CliContext {
  pool: Pool;
  /** One line on stdout. */
  print(line: string): void;
  /** Text on stdout as it is; resolves once stdout took it, so a slow reader (a pipe) holds back the next. */
  write(text: string): Promise<void>;
  /** Aborted on Ctrl-C: stops waiting (a workload you follow is not cancelled by it). */
  signal: AbortSignal;
}

export function createContext(options: GlobalOptions, signal: AbortSignal): CliContext {
  return {
    pool: new Pool({ url: options.url, token: options.token }),
    print: (line) => process.stdout.write(`${line}\n`),
    write: (text) => new Promise((resolve) => process.stdout.write(text, () => resolve())),
    signal,
  };
}

/** Parses an integer option of at least `min` (and at most `max`), for commander. */
export function integerOption(name: string, min = 0, max = Number.MAX_SAFE_INTEGER) {
  return (text: string): number => {
    const value = Number(text);
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new InvalidArgumentError(
        max === Number.MAX_SAFE_INTEGER ? `${name} must be an integer ≥ ${min}` : `${name} must be an integer from ${min} to ${max}`,
      );
    }
    return value;
  };
}
