/**
 * A Jest reporter that prints the fault suite's summary at the end of the run: one row per scenario
 * with the items of accepted workloads, how many were lost (silently), how many were counted twice, how
 * many workloads were stuck (not final when the audit's wait ended), how many items chunkmill reported
 * lost (410 WORKLOAD_LOST: a fault that destroyed Redis's data), and the slowest request of the
 * scenarios that timed their requests ("-" for the others). The scenarios append their rows (JSON
 * lines) to this run's file, named in CHUNKMILL_FAULT_SUMMARY (set here, before Jest starts its
 * workers, so that runs side by side never mix their rows).
 */
const fs = require('node:fs');
const path = require('node:path');

const ARTIFACTS = path.resolve(__dirname, '../../test-artifacts');

/** The file this run's scenarios write their rows to. */
function summaryFile() {
  return process.env.CHUNKMILL_FAULT_SUMMARY ?? path.join(ARTIFACTS, `fault-summary-${process.pid}.jsonl`);
}

class FaultSummaryReporter {
  constructor() {
    process.env.CHUNKMILL_FAULT_SUMMARY = summaryFile();
    fs.rmSync(summaryFile(), { force: true });
  }

  onRunComplete() {
    const file = summaryFile();
    if (!fs.existsSync(file)) return;
    const rows = fs
      .readFileSync(file, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line))
      .sort((a, b) => a.scenario.localeCompare(b.scenario, 'en', { numeric: true }));
    const table = [
      ['scenario', 'workloads', 'items accepted', 'lost', 'counted twice', 'stuck', 'reported lost', 'slowest request'],
      ...rows.map((row) =>
        [
          row.scenario,
          row.workloads,
          row.accepted,
          row.lost,
          row.countedTwice,
          row.stuck ?? 0,
          row.reportedLost ?? 0,
          row.slowestRequestMs === undefined ? '-' : `${row.slowestRequestMs} ms`,
        ].map(String),
      ),
    ];
    const widths = table[0].map((_, column) => Math.max(...table.map((row) => row[column].length)));
    const line = (row) => `| ${row.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]) : cell.padStart(widths[column]))).join(' | ')} |`;
    const rule = `|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`;
    process.stdout.write(`\nFault suite: every accepted item checked\n${[line(table[0]), rule, ...table.slice(1).map(line)].join('\n')}\n\n`);
  }
}

module.exports = FaultSummaryReporter;
module.exports.summaryFile = summaryFile;
