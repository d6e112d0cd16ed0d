#!/usr/bin/env node
/**
 * `chunkmill`: submit, follow and fetch workloads from the shell. The server is `--url` or
 * `CHUNKMILL_URL`, the token `--token` or `CHUNKMILL_TOKEN`. Exit codes: see exit-codes.ts (and docs/cli.md).
 */
import { Command, CommanderError, Option } from 'commander';
import { ChunkmillClientError } from '@chunkmill/client';
import { createContext, integerOption, type CliContext, type GlobalOptions } from './context';
import { EXIT, exitCodeFor, type ExitCode } from './exit-codes';
import { showResults, type ResultsFormat } from './commands/results';
import { submit, type SubmitOptions } from './commands/submit';
import { watchWorkload } from './commands/watch';
import { packageVersion } from '../core/package-version';
import { submissionOptions } from './submission-flags';

const formatOption = (): Option => new Option('--format <format>', 'json: one document; ndjson: one line per item').choices(['json', 'ndjson']).default('json');
const intervalOption = (): Option =>
  new Option('--interval-ms <ms>', 'least ms between plain progress lines (when stdout is not a terminal)')
    .argParser(integerOption('--interval-ms'))
    .default(1000);

export function buildProgram(run: (action: (context: CliContext) => Promise<ExitCode>) => Promise<void>): Command {
  const program = new Command('chunkmill')
    .description('Submit and follow chunkmill workloads.')
    .version(packageVersion())
    .addOption(new Option('--url <url>', 'the producer API').env('CHUNKMILL_URL').default('http://127.0.0.1:3000'))
    .addOption(new Option('--token <token>', 'bearer token').env('CHUNKMILL_TOKEN'))
    .showHelpAfterError()
    .exitOverride();

  const submitCommand = program
    .command('submit')
    .description('submit a compute workload (<task> [inputs...]) or, with --fetch, a fetch workload ([urls...])')
    .argument('[args...]', 'the task and its inputs (each read as JSON when it parses), or the URLs with --fetch')
    .option('--fetch', 'a fetch workload: the arguments (or file, or stdin) are URLs or request objects')
    .option('-f, --file <path>', 'read the items from a JSON array or NDJSON file ("-" for stdin)')
    .option('--idempotency-key <key>', 'a repeat with the same key answers the first workload')
    .option('-q, --quiet', 'print only the workload id')
    .option('-w, --watch', 'then follow it with a progress bar; exit by its final status')
    .option('--wait', 'then wait for it and print its results; exit by its final status')
    .addOption(formatOption())
    .addOption(intervalOption())
    .action((args: string[], options: SubmitOptions) => run((context) => submit(context, args, options)));
  // The submission's options (--chunk-size, --concurrency, --max-response-bytes, ...): from the API contract.
  for (const option of submissionOptions()) submitCommand.addOption(option);

  program
    .command('status')
    .description('show a workload: status and counters (JSON)')
    .argument('<id>')
    .action((id: string) =>
      run(async (context) => {
        context.print(JSON.stringify(await context.pool.status(id, { signal: context.signal })));
        return EXIT.OK;
      }),
    );

  program
    .command('results')
    .description("print a workload's results; exit 0 completed, 1 failed or cancelled, 6 not finished")
    .argument('<id>')
    .option('--wait <ms>', 'long-poll up to this long for the workload to finish', integerOption('--wait'), 0)
    .addOption(formatOption())
    .action((id: string, options: { wait: number; format: ResultsFormat }) =>
      run((context) => showResults(context, id, { waitMs: options.wait, format: options.format })),
    );

  program
    .command('watch')
    .description('follow a workload to its end with a progress bar (items/s, ETA); exit 0 completed, 1 failed or cancelled')
    .argument('<id>')
    .addOption(intervalOption())
    .action((id: string, options: { intervalMs: number }) => run((context) => watchWorkload(context, id, options)));

  program
    .command('cancel')
    .description('cancel a workload (exit 7 if it had already finished)')
    .argument('<id>')
    .action((id: string) =>
      run(async (context) => {
        context.print(JSON.stringify(await context.pool.cancel(id, { signal: context.signal })));
        return EXIT.OK;
      }),
    );

  program
    .command('tasks')
    .description('list the compute tasks the cluster runs')
    .option('--json', 'print the JSON answer')
    .action((options: { json?: boolean }) =>
      run(async (context) => {
        const tasks = await context.pool.tasks({ signal: context.signal });
        if (options.json) context.print(JSON.stringify({ tasks }));
        else {
          const width = Math.max(...tasks.map((task) => task.name.length), 4);
          for (const task of tasks) context.print(`${task.name.padEnd(width)}  ${task.description}`);
        }
        return EXIT.OK;
      }),
    );
  program
    .command('workers')
    .description('list the live worker hosts and what they run')
    .option('--json', 'print the JSON answer')
    .action((options: { json?: boolean }) =>
      run(async (context) => {
        const workers = await context.pool.workers({ signal: context.signal });
        if (options.json) context.print(JSON.stringify({ workers }));
        else {
          const width = Math.max(...workers.map((worker) => worker.id.length), 2);
          for (const worker of workers) {
            const seen = Math.max(0, Math.round((Date.now() - worker.lastSeenAt) / 1000));
            context.print(
              `${worker.id.padEnd(width)}  ${worker.queues.join(',')}  ${worker.processes}x${worker.threads} threads  ` +
                `active compute ${worker.activeChunks.compute} fetch ${worker.activeChunks.fetch}  seen ${seen}s ago`,
            );
          }
        }
        return EXIT.OK;
      }),
    );
  return program;
}

function reportError(error: unknown): ExitCode {
  const code = exitCodeFor(error);
  const tag = error instanceof ChunkmillClientError ? `${error.code}: ` : '';
  process.stderr.write(`chunkmill: ${tag}${(error as Error)?.message ?? String(error)}\n`);
  const details = (error as { details?: unknown[] }).details;
  if (Array.isArray(details)) for (const detail of details) process.stderr.write(`  ${typeof detail === 'string' ? detail : JSON.stringify(detail)}\n`);
  return code;
}

export async function main(argv: string[]): Promise<ExitCode> {
  const interrupt = new AbortController();
  const onSigint = (): void => interrupt.abort(new Error('interrupted'));
  process.once('SIGINT', onSigint);
  let exitCode: ExitCode = EXIT.OK;
  const program = buildProgram(async (action) => {
    const context = createContext(program.opts<GlobalOptions>(), interrupt.signal);
    try {
      exitCode = await action(context);
    } catch (error) {
      exitCode = interrupt.signal.aborted ? EXIT.INTERRUPTED : reportError(error);
    }
  });
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end here with exitCode 0; usage errors were already printed by commander.
      exitCode = error.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    } else exitCode = reportError(error);
  } finally {
    process.off('SIGINT', onSigint);
  }
  return exitCode;
}

if (require.main === module) {
  void main(process.argv).then((code) => {
    // Let stdout drain before exiting (a pipe may be slow).
    process.exitCode = code;
  });
}
