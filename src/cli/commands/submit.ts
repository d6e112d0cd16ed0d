/**
 * `chunkmill submit <task> [inputs...]` (compute) or `chunkmill submit --fetch [urls...]` (fetch).
 * Items come from the arguments, `--file` or piped stdin (see inputs.ts). Prints the server's answer
 * (`{"id","status","total","chunks"}`, or only the id with `--quiet`); with `--watch` then follows it
 * with a progress bar, with `--wait` prints its results; both exit by the workload's final status.
 */
import type { FetchRequest, ReduceOperation, SubmitAnswer } from '@chunkmill/client';
import type { CliContext } from '../context';
import { EXIT, UsageError, type ExitCode } from '../exit-codes';
import { readItems } from '../inputs';
import { showResults, type ResultsFormat } from './results';
import { watchWorkload } from './watch';

export interface SubmitOptions {
  fetch?: boolean;
  file?: string;
  chunkSize?: number;
  attempts?: number;
  timeoutMs?: number;
  priority?: number;
  reduce?: ReduceOperation;
  extract?: string;
  concurrency?: number;
  perHostConcurrency?: number;
  retries?: number;
  idempotencyKey?: string;
  quiet?: boolean;
  watch?: boolean;
  wait?: boolean;
  format: ResultsFormat;
  intervalMs: number;
}

export async function submit(context: CliContext, args: string[], options: SubmitOptions): Promise<ExitCode> {
  const common = {
    chunkSize: options.chunkSize,
    attempts: options.attempts,
    timeoutMs: options.timeoutMs,
    priority: options.priority,
    idempotencyKey: options.idempotencyKey,
    signal: context.signal,
  };
  let answer: SubmitAnswer;
  if (options.fetch) {
    if (options.reduce) throw new UsageError('--reduce applies to compute workloads only');
    const urls = await readItems(args, options.file);
    if (urls.length === 0) throw new UsageError('no URLs: give them as arguments, with --file, or on stdin');
    answer = await context.pool.submitFetch(urls as Array<string | FetchRequest>, {
      ...common,
      extract: options.extract,
      concurrency: options.concurrency,
      perHostConcurrency: options.perHostConcurrency,
      retries: options.retries,
    });
  } else {
    const [task, ...rest] = args;
    if (!task) throw new UsageError('name a task (see `chunkmill tasks`), or use --fetch for URLs');
    for (const flag of ['extract', 'concurrency', 'perHostConcurrency', 'retries'] as const) {
      if (options[flag] !== undefined) throw new UsageError(`--${flag.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} applies to --fetch workloads only`);
    }
    const inputs = await readItems(rest, options.file);
    if (inputs.length === 0) throw new UsageError('no inputs: give them as arguments, with --file, or on stdin');
    answer = await context.pool.submitCompute(task, inputs, { ...common, reduce: options.reduce });
  }
  context.print(options.quiet ? answer.id : JSON.stringify(answer));
  if (options.watch) {
    const code = await watchWorkload(context, answer.id, { intervalMs: options.intervalMs });
    if (!options.wait) return code;
  }
  if (options.wait) return showResults(context, answer.id, { waitMs: Infinity, format: options.format });
  return EXIT.OK;
}
