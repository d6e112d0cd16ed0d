/**
 * `npm run bench`: runs every benchmark script in turn (one question each), each in its own process so
 * that one does not warm or disturb the next. `npm run bench -- --quick` runs tiny sizes (the smoke run
 * that `npm test` also does). Tables go to stdout; JSON to bench/results/.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const scripts = fs
  .readdirSync(__dirname)
  .filter((file) => file.endsWith('.js') && file !== 'run-all.js')
  .sort();
const only = process.argv.slice(2).filter((arg) => !arg.startsWith('--'));
const flags = process.argv.slice(2).filter((arg) => arg.startsWith('--'));
/** A script that runs longer than this has hung: stop it and count it as failed. */
const SCRIPT_TIMEOUT_MS = (flags.includes('--quick') ? 3 : 10) * 60_000;
let failed = 0;
for (const script of scripts) {
  if (only.length > 0 && !only.some((name) => script.startsWith(name))) continue;
  const result = spawnSync(process.execPath, [path.join(__dirname, script), ...flags], { stdio: 'inherit', timeout: SCRIPT_TIMEOUT_MS, killSignal: 'SIGKILL' });
  if (result.status !== 0) {
    failed++;
    process.stderr.write(
      `bench ${script} failed (exit ${result.status}${result.signal ? `, ${result.signal}: it ran longer than ${SCRIPT_TIMEOUT_MS / 60_000} min` : ''})\n`,
    );
  }
}
process.exit(failed === 0 ? 0 : 1);
