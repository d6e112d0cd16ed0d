/**
 * `npm run bench` is not part of the test suite (it takes minutes and wants a quiet machine), but every
 * bench script must keep working: this runs each one with tiny sizes (`--quick`) and checks its report.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');

describe('bench scripts (quick smoke run)', () => {
  it('every script runs with --quick and writes its report', () => {
    const run = spawnSync(process.execPath, [path.join(ROOT, 'dist/bench/run-all.js'), '--quick'], { encoding: 'utf8', timeout: 240_000 });
    expect({ status: run.status, stderr: run.status === 0 ? '' : run.stderr }).toEqual({ status: 0, stderr: '' });
    const scripts = fs.readdirSync(path.join(ROOT, 'dist/bench')).filter((file) => file.endsWith('.js') && file !== 'run-all.js');
    expect(scripts.length).toBeGreaterThan(0);
    for (const script of scripts) {
      const report = JSON.parse(fs.readFileSync(path.join(ROOT, 'bench/results', script.replace(/\.js$/, '.quick.json')), 'utf8'));
      expect(report).toMatchObject({ bench: script.replace(/\.js$/, ''), quick: true, rows: expect.any(Array), machine: expect.any(Object) });
      expect(report.rows.length).toBeGreaterThan(0);
    }
  }, 300_000);
});
