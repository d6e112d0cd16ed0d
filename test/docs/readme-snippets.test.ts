/**
 * The README's TypeScript examples are what a new user copies first, so they must compile against the
 * SDK as it is. Each ```ts block is type-checked with the project's compiler settings, `chunkmill` mapped
 * to this repository's sources. Blocks run in order and may use names an earlier block defined
 * (the README reads as one session); names a reader supplies themselves (an API key) are declared here.
 */
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

const ROOT = path.resolve(__dirname, '../..');

/** What a reader brings: their own API key, and the values earlier blocks made. */
const READER_SUPPLIES = `
import type { Pool as ReadersPool } from 'chunkmill';
declare const APPID: string;
declare const pool: ReadersPool;
`;

interface Snippet {
  line: number;
  code: string;
}

function readmeSnippets(): Snippet[] {
  const lines = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8').split('\n');
  const snippets: Snippet[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i]!.trim() !== '```ts') continue;
    const start = i + 1;
    while (i + 1 < lines.length && lines[i + 1]!.trim() !== '```') i++;
    snippets.push({ line: start + 1, code: lines.slice(start, i + 1).join('\n') });
    i++;
  }
  return snippets;
}

/**
 * A block that exports is a module of its own (a task module); any other block becomes the body of an
 * async function (the README's blocks use top-level await) with its imports lifted above it.
 */
function asModule(snippet: Snippet): string {
  if (/^export /m.test(snippet.code)) return snippet.code;
  const imports = snippet.code.split('\n').filter((line) => /^import /.test(line));
  const body = snippet.code.split('\n').filter((line) => !/^import /.test(line));
  return [...imports, READER_SUPPLIES, 'export async function readerSession(): Promise<void> {', ...body, '}', ''].join('\n');
}

describe('README TypeScript examples', () => {
  const snippets = readmeSnippets();

  test('the README has TypeScript examples to check', () => {
    expect(snippets.length).toBeGreaterThanOrEqual(3);
  });

  test('every example compiles against the SDK', () => {
    // Inside the repository (an ignored folder), so that the examples' own imports (zod) resolve.
    fs.mkdirSync(path.join(ROOT, 'test-artifacts'), { recursive: true });
    const folder = fs.mkdtempSync(path.join(ROOT, 'test-artifacts', 'readme-'));
    try {
      const files = snippets.map((snippet, index) => {
        const file = path.join(folder, `readme-line-${snippet.line}-${index}.ts`);
        fs.writeFileSync(file, asModule(snippet));
        return file;
      });
      const program = ts.createProgram(files, {
        target: ts.ScriptTarget.ES2022,
        module: ts.ModuleKind.CommonJS,
        moduleResolution: ts.ModuleResolutionKind.Node10,
        lib: ['lib.es2023.d.ts'],
        types: ['node'],
        strict: true,
        esModuleInterop: true,
        skipLibCheck: true,
        noEmit: true,
        baseUrl: ROOT,
        paths: { chunkmill: ['src/index.ts'], 'chunkmill/dist/src/*': ['src/*'] },
      });
      const problems = ts
        .getPreEmitDiagnostics(program)
        .filter((diagnostic) => diagnostic.file && files.includes(path.normalize(diagnostic.file.fileName)))
        .map((diagnostic) => {
          const where = diagnostic.file!.getLineAndCharacterOfPosition(diagnostic.start ?? 0);
          const name = path.basename(diagnostic.file!.fileName);
          return `${name}:${where.line + 1}: ${ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')}`;
        });
      expect(problems).toEqual([]);
    } finally {
      fs.rmSync(folder, { recursive: true, force: true });
    }
  }, 120_000);
});
