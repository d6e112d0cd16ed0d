/**
 * `chunkmill submit <task> [inputs...]` (compute) or `chunkmill submit --fetch [urls...]` (fetch).
 * Items come from the arguments, `--file` or piped stdin (see inputs.ts). Prints the server's answer
 * (`{"id","status","total","chunks"}`, or only the id with `--quiet`); with `--watch` then follows it
 * with a progress bar, with `--wait` prints its results; both exit by the workload's final status.
 */
import type { ComputeOptions, FetchRequest, FetchSubmissionOptions, SubmitAnswer } from '@chunkmill/client';
import type { CliContext } from '../context';
import { EXIT, UsageError, type ExitCode } from '../exit-codes';
import { readItems } from '../inputs';
import { kindsOf, SUBMISSION_FLAGS, type SubmissionField, type WorkloadKind } from '../submission-flags';
import { showResults, type ResultsFormat } from './results';
import { watchWorkload } from './watch';

/** The submission's options (named as the contract's fields: see submission-flags.ts), and the command's own. */
export interface SubmitOptions extends ComputeOptions, FetchSubmissionOptions {
  fetch?: boolean;
  file?: string;
  idempotencyKey?: string;
  quiet?: boolean;
  watch?: boolean;
  wait?: boolean;
  format: ResultsFormat;
  intervalMs: number;
}

/** The submission options given, for a workload of `kind`; a flag of the other kind is a usage error. */
function submissionFields(options: SubmitOptions, kind: WorkloadKind): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  for (const field of Object.keys(SUBMISSION_FLAGS) as SubmissionField[]) {
    const value = options[field];
    if (value === undefined) continue;
    if (!kindsOf(field).includes(kind)) {
      throw new UsageError(`${SUBMISSION_FLAGS[field].split(' ')[0]} applies to ${kind === 'compute' ? '--fetch' : 'compute'} workloads only`);
    }
    fields[field] = value;
  }
  return fields;
}

export async function submit(context: CliContext, args: string[], options: SubmitOptions): Promise<ExitCode> {
  const call = { idempotencyKey: options.idempotencyKey, signal: context.signal };
  let answer: SubmitAnswer;
  if (options.fetch) {
    const fields = submissionFields(options, 'fetch');
    const urls = await readItems(args, options.file);
    if (urls.length === 0) throw new UsageError('no URLs: give them as arguments, with --file, or on stdin');
    answer = await context.pool.submitFetch(urls as Array<string | FetchRequest>, { ...fields, ...call });
  } else {
    const [task, ...rest] = args;
    if (!task) throw new UsageError('name a task (see `chunkmill tasks`), or use --fetch for URLs');
    const fields = submissionFields(options, 'compute');
    const inputs = await readItems(rest, options.file);
    if (inputs.length === 0) throw new UsageError('no inputs: give them as arguments, with --file, or on stdin');
    answer = await context.pool.submitCompute(task, inputs, { ...fields, ...call });
  }
  context.print(options.quiet ? answer.id : JSON.stringify(answer));
  if (options.watch) {
    const code = await watchWorkload(context, answer.id, { intervalMs: options.intervalMs });
    if (!options.wait) return code;
  }
  if (options.wait) return showResults(context, answer.id, { waitMs: Infinity, format: options.format });
  return EXIT.OK;
}
