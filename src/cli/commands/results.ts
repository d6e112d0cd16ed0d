/**
 * `chunkmill results <id>`: the results as one JSON document (`{id, status, total, offset, results, errors,
 * reduced}`) or NDJSON, one line per item in input order (`{"index","value"}` or `{"index","value":null,"error"}`).
 * Neither needs the whole workload in one answer: NDJSON comes from the server's results stream, and a
 * JSON document of more than RESULTS_PAGE items is read in pages and written out page by page.
 * Exits 0 when completed, 1 when failed or cancelled, 6 when still running after `--wait`.
 */
import type { ItemErrorView, ResultsAnswer } from '@chunkmill/client';
import type { CliContext } from '../context';
import { EXIT, type ExitCode } from '../exit-codes';

export type ResultsFormat = 'json' | 'ndjson';

/** Items per results request (the server's largest page). */
const RESULTS_PAGE = 100_000;
/** Output gathered before one write to stdout. */
const WRITE_BYTES = 64 * 1024;

export function exitCodeForStatus(status: string): ExitCode {
  if (status === 'completed') return EXIT.OK;
  if (status === 'failed' || status === 'cancelled') return EXIT.WORKLOAD_FAILED;
  return EXIT.NOT_FINISHED;
}

/** Every item as a line, from the server's NDJSON stream, written out in batches. */
async function streamNdjson(context: CliContext, id: string, waitMs: number): Promise<ExitCode> {
  const stream = await context.pool.resultsStream(id, { waitMs, signal: context.signal });
  let batch = '';
  for await (const entry of stream.entries) {
    batch += `${JSON.stringify(entry)}\n`;
    if (batch.length >= WRITE_BYTES) {
      await context.write(batch);
      batch = '';
    }
  }
  await context.write(batch);
  return exitCodeForStatus(stream.status);
}

/**
 * The JSON document, exactly as one answer would print it: from one answer when the workload fits in a
 * page, otherwise its `results` written out page by page (the errors, which come after them, are kept).
 */
async function printJson(context: CliContext, id: string, waitMs: number): Promise<ExitCode> {
  const first: ResultsAnswer = await context.pool.results(id, { waitMs, limit: RESULTS_PAGE, signal: context.signal });
  if (first.results.length >= first.total) {
    context.print(JSON.stringify(first));
    return exitCodeForStatus(first.status);
  }
  const { id: workloadId, status, total, reduced } = first;
  const items = (answer: ResultsAnswer): string => JSON.stringify(answer.results).slice(1, -1);
  const errors: ItemErrorView[] = [...first.errors];
  await context.write(`{"id":${JSON.stringify(workloadId)},"status":${JSON.stringify(status)},"total":${total},"offset":0,"results":[${items(first)}`);
  for (let offset = first.results.length; offset < total; offset += RESULTS_PAGE) {
    const page = await context.pool.results(id, { offset, limit: RESULTS_PAGE, signal: context.signal });
    await context.write(`,${items(page)}`);
    for (const error of page.errors) errors.push(error);
  }
  await context.write(`],"errors":${JSON.stringify(errors)},"reduced":${JSON.stringify(reduced)}}\n`);
  return exitCodeForStatus(status);
}

export async function showResults(context: CliContext, id: string, options: { waitMs: number; format: ResultsFormat }): Promise<ExitCode> {
  return options.format === 'ndjson' ? streamNdjson(context, id, options.waitMs) : printJson(context, id, options.waitMs);
}
