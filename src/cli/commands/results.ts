/**
 * `chunkmill results <id>`: the results as one JSON document (`{id, status, results, errors, reduced}`)
 * or NDJSON, one line per item in input order (`{"index","value"}` or `{"index","value":null,"error"}`).
 * Exits 0 when completed, 1 when failed or cancelled, 6 when still running after `--wait`.
 */
import type { ResultsAnswer } from '../../sdk';
import type { CliContext } from '../context';
import { EXIT, type ExitCode } from '../exit-codes';

export type ResultsFormat = 'json' | 'ndjson';

export function exitCodeForStatus(status: string): ExitCode {
  if (status === 'completed') return EXIT.OK;
  if (status === 'failed' || status === 'cancelled') return EXIT.WORKLOAD_FAILED;
  return EXIT.NOT_FINISHED;
}

export function printResults(context: CliContext, answer: ResultsAnswer, format: ResultsFormat): void {
  if (format === 'json') {
    context.print(JSON.stringify(answer));
    return;
  }
  const errors = new Map(answer.errors.map((error) => [error.index, error]));
  answer.results.forEach((value, index) => {
    const error = errors.get(index);
    context.print(JSON.stringify(error ? { index, value: null, error: { code: error.code, message: error.message } } : { index, value }));
  });
}

export async function showResults(context: CliContext, id: string, options: { waitMs: number; format: ResultsFormat }): Promise<ExitCode> {
  const answer = await context.pool.results(id, { waitMs: options.waitMs, signal: context.signal });
  printResults(context, answer, options.format);
  return exitCodeForStatus(answer.status);
}
