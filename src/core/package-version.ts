/** chunkmill's version, from the package.json above this file (in src/ or dist/src/ alike, or installed). */
import { readFileSync } from 'node:fs';
import path from 'node:path';

let version: string | undefined;

export function packageVersion(): string {
  if (version !== undefined) return version;
  version = '0.0.0';
  for (let dir = __dirname; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    try {
      const manifest = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (manifest.name === 'chunkmill') {
        version = manifest.version ?? version;
        break;
      }
    } catch {
      // no package.json here: look further up
    }
  }
  return version;
}
