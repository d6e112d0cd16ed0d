#!/usr/bin/env node
/**
 * Fails when a line of the project's code is wider than Biome's `lineWidth` (biome.json). Biome's
 * formatter wraps code but leaves a long string or comment as it is: this catches those.
 * Usage: node scripts/check-line-width.js [files...] (default: every tracked .ts and .js file).
 */
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const width = JSON.parse(fs.readFileSync(path.join(root, 'biome.json'), 'utf8')).formatter.lineWidth;
const files =
  process.argv.length > 2
    ? process.argv.slice(2)
    : execFileSync('git', ['ls-files', '*.ts', '*.js'], { cwd: root, encoding: 'utf8' }).split('\n').filter(Boolean);

let wide = 0;
for (const file of files) {
  const lines = fs.readFileSync(path.resolve(root, file), 'utf8').split('\n');
  lines.forEach((line, index) => {
    if (line.length <= width) return;
    wide++;
    process.stderr.write(`${file}:${index + 1}: ${line.length} characters (at most ${width})\n`);
  });
}
if (wide > 0) {
  process.stderr.write(`${wide} line(s) wider than ${width} characters\n`);
  process.exit(1);
}
