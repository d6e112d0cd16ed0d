/**
 * What every benchmark script shares: medians over repeated runs, a table on stdout, and a JSON file in
 * bench/results/ with the machine it ran on. Figures are ratios against a baseline measured in the same
 * run, because this machine is shared and noisy: absolute numbers drift, same-run ratios hold.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface BenchRow {
  /** What was measured, e.g. "chunkmill (2 processes)". */
  name: string;
  [column: string]: string | number | null;
}

export interface BenchReport {
  /** The script's name, used for the JSON file. */
  bench: string;
  /** The question the script answers, in one sentence. */
  question: string;
  rows: BenchRow[];
  /** Pass/fail lines against the targets, e.g. "fraction of ceiling 0.97 ≥ 0.95: met". */
  verdicts: string[];
  /** Run parameters (sizes, repeats), so a reader can reproduce the figures. */
  parameters: Record<string, unknown>;
}

export function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

export function machine(): Record<string, string | number> {
  return {
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.availableParallelism(),
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    platform: `${os.type()} ${os.release()}`,
  };
}

/** `--quick` runs tiny sizes once: the smoke run that `npm test` does of every bench script. */
export function isQuick(argv = process.argv): boolean {
  return argv.includes('--quick') || process.env.BENCH_QUICK === '1';
}

export const verdict = (label: string, value: number, target: number, higherIsBetter = true): string => {
  const met = higherIsBetter ? value >= target : value <= target;
  return `${label}: ${round(value)} ${higherIsBetter ? '≥' : '≤'} ${target} — ${met ? 'met' : 'NOT met'}`;
};

export const round = (value: number, digits = 3): number => Number(value.toPrecision(digits));

function formatTable(rows: BenchRow[]): string {
  const columns = [...new Set(rows.flatMap((row) => Object.keys(row)))];
  const cell = (value: unknown): string => (value === null || value === undefined ? '' : typeof value === 'number' ? String(round(value, 4)) : String(value));
  const widths = columns.map((column) => Math.max(column.length, ...rows.map((row) => cell(row[column]).length)));
  const line = (values: string[]): string => `| ${values.map((value, i) => value.padEnd(widths[i])).join(' | ')} |`;
  return [line(columns), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map((row) => line(columns.map((c) => cell(row[c]))))].join('\n');
}

/** Prints the report as a Markdown table and writes it to bench/results/<bench>.json. */
export function publish(report: BenchReport): void {
  const stamped = { ...report, machine: machine(), measuredAt: new Date().toISOString(), quick: isQuick() };
  process.stdout.write(`\n## ${report.bench}: ${report.question}\n\n${formatTable(report.rows)}\n\n`);
  for (const line of report.verdicts) process.stdout.write(`- ${line}\n`);
  process.stdout.write(`\nmachine: ${JSON.stringify(stamped.machine)}\n`);
  const folder = path.resolve(__dirname, '../../../bench/results');
  fs.mkdirSync(folder, { recursive: true });
  fs.writeFileSync(path.join(folder, `${report.bench}${isQuick() ? '.quick' : ''}.json`), `${JSON.stringify(stamped, null, 2)}\n`);
}

/**
 * Runs a benchmark's main: exit 0 when it is done (a connection left open somewhere must not keep a
 * finished benchmark alive), 1 with the stack when it fails.
 */
export function runBench(main: () => Promise<void>): void {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
      process.exit(1);
    },
  );
}
