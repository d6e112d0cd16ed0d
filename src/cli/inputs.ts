/**
 * Where `submit` finds its items: arguments (each read as JSON when it parses, else as a string),
 * a file (`--file path`, `-` for stdin) or piped stdin, holding a JSON array or NDJSON (one item a line).
 */
import { readFile } from 'node:fs/promises';
import { UsageError } from './exit-codes';

export function parseArgument(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** A JSON array, or NDJSON: one JSON value (or bare string) per non-empty line. */
export function parseItems(text: string, source: string): unknown[] {
  const trimmed = text.trim();
  if (trimmed === '') return [];
  if (trimmed.startsWith('[')) {
    try {
      const parsed: unknown = JSON.parse(trimmed);
      if (Array.isArray(parsed)) return parsed;
    } catch (error) {
      throw new UsageError(`${source} is not a valid JSON array: ${(error as Error).message}`);
    }
  }
  return trimmed
    .split(/\r?\n/)
    .filter((line) => line.trim() !== '')
    .map((line) => parseArgument(line.trim()));
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function readItems(args: string[], file: string | undefined): Promise<unknown[]> {
  if (file !== undefined && args.length > 0) throw new UsageError('give the items either as arguments or with --file, not both');
  if (args.length > 0) return args.map(parseArgument);
  if (file === '-' || (file === undefined && !process.stdin.isTTY)) return parseItems(await readStdin(), 'stdin');
  if (file !== undefined) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      throw new UsageError(`cannot read ${file}: ${(error as Error).message}`);
    }
    return parseItems(text, file);
  }
  return [];
}
