/**
 * docs/configuration.md documents every environment variable of the config schema (src/core/config.ts),
 * and nothing else under "Variables": the first column of that table must be exactly the schema's keys,
 * so a variable added without docs (or docs left behind by a removed one) fails here. Where the table
 * gives a literal default (the first code span of its second column), it must be the schema's default.
 */
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import * as configModule from '../../src/core/config';
import { ROOT, readDoc } from './markdown';

const CONFIG_SOURCE = path.join(ROOT, 'src/core/config.ts');

/** The keys of the `z.object({...})` literal assigned to `envSchema` in config.ts, read from its syntax tree. */
function schemaKeysFromSource(): string[] {
  const source = ts.createSourceFile(CONFIG_SOURCE, fs.readFileSync(CONFIG_SOURCE, 'utf8'), ts.ScriptTarget.ES2022, true);
  let keys: string[] | undefined;
  const visit = (node: ts.Node): void => {
    if (ts.isVariableDeclaration(node) && ts.isIdentifier(node.name) && node.name.text === 'envSchema' && node.initializer) {
      const call = node.initializer;
      if (ts.isCallExpression(call) && ts.isObjectLiteralExpression(call.arguments[0]!)) {
        keys = call.arguments[0].properties.map((property) => {
          if (!property.name || !(ts.isIdentifier(property.name) || ts.isStringLiteral(property.name)))
            throw new Error('envSchema: a property without a plain name');
          return property.name.text;
        });
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  if (!keys) throw new Error('src/core/config.ts: no `envSchema = z.object({...})` found');
  return keys;
}

/** The schema's keys: from the module when it exports the schema, else from config.ts's source. */
function schemaKeys(): string[] {
  for (const value of Object.values(configModule as Record<string, unknown>)) {
    const shape = (value as { shape?: Record<string, unknown> } | undefined)?.shape;
    if (shape && typeof shape === 'object' && 'REDIS_URL' in shape) return Object.keys(shape);
  }
  return schemaKeysFromSource();
}

interface Row {
  variable: string;
  defaultCell: string;
}

/** The rows of the first table under the heading `## Variables`. */
function documentedRows(markdown: string): Row[] {
  const lines = markdown.split('\n');
  const start = lines.findIndex((line) => /^##\s+Variables\s*$/.test(line));
  if (start < 0) throw new Error('docs/configuration.md: no "## Variables" heading');
  const rows: Row[] = [];
  let inTable = false;
  for (const line of lines.slice(start + 1)) {
    if (/^#{1,2}\s/.test(line)) break;
    if (!line.trim().startsWith('|')) {
      if (inTable) break;
      continue;
    }
    inTable = true;
    const cells = line
      .split(/(?<!\\)\|/)
      .slice(1, -1)
      .map((cell) => cell.trim());
    if (cells[0] === 'variable' || /^:?-+:?$/.test(cells[0] ?? '')) continue;
    const variable = /^`([A-Z0-9_]+)`$/.exec(cells[0] ?? '');
    if (!variable) throw new Error(`docs/configuration.md: a row whose first cell is not one \`VARIABLE\`: ${line}`);
    rows.push({ variable: variable[1]!, defaultCell: cells[1] ?? '' });
  }
  return rows;
}

/** Defaults that depend on the machine or on other variables, so the table says them in words. */
const COMPUTED_DEFAULTS = new Set(['WORKER_PROCESSES', 'WORKER_THREADS', 'WORKER_CONCURRENCY', 'WORKER_ID']);

describe('docs/configuration.md', () => {
  const rows = documentedRows(readDoc('docs/configuration.md'));
  const documented = rows.map((row) => row.variable);

  test('the schema is read, from the module or from its source, and both agree', () => {
    const fromSource = schemaKeysFromSource();
    expect(fromSource.length).toBeGreaterThan(30);
    expect(new Set(schemaKeys())).toEqual(new Set(fromSource));
  });

  test('documents every variable of the config schema, once, and no other', () => {
    expect(new Set(documented).size).toBe(documented.length);
    const keys = schemaKeys();
    expect({ undocumented: keys.filter((key) => !documented.includes(key)), notInSchema: documented.filter((name) => !keys.includes(name)) }).toEqual({
      undocumented: [],
      notInSchema: [],
    });
  });

  test("every literal default is the schema's", () => {
    const defaults = configModule.loadConfig({}) as unknown as Record<string, unknown>;
    const problems = rows.flatMap(({ variable, defaultCell }) => {
      const literal = /`([^`]*)`/.exec(defaultCell);
      const actual = defaults[variable];
      if (COMPUTED_DEFAULTS.has(variable)) return [];
      if (!literal) return actual === undefined ? [] : [`${variable}: documented as "${defaultCell}", the schema's default is ${JSON.stringify(actual)}`];
      const shown = Array.isArray(actual) ? actual.join(',') : String(actual);
      return shown === literal[1] ? [] : [`${variable}: documented default ${literal[1]}, the schema's is ${shown}`];
    });
    expect(problems).toEqual([]);
  });

  test('a missing or extra row is caught', () => {
    const table = (names: string[]) =>
      `## Variables\n\n| variable | default |\n|---|---|\n${names.map((name) => `| \`${name}\` | x |`).join('\n')}\n\n## Next\n`;
    const keys = schemaKeys();
    expect(documentedRows(table(keys.slice(1))).map((row) => row.variable)).not.toContain(keys[0]);
    expect(documentedRows(table([...keys, 'NOT_A_VARIABLE'])).map((row) => row.variable)).toContain('NOT_A_VARIABLE');
  });
});
