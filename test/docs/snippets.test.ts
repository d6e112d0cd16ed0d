/**
 * The TypeScript examples of the README and docs/*.md are what a new user copies first, so they must
 * compile against chunkmill as it is. Every ```ts block is type-checked with the project's compiler
 * settings, the package names mapped to this repository's sources as tsconfig.json maps them
 * (`chunkmill` to src/index.ts, `@chunkmill/client` to src/sdk, `chunkmill/tasks` to src/tasks.ts). A
 * block not meant to compile says so in its info string (```ts no-check), visibly, and such blocks are few.
 */
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { ROOT, codeBlocks, documentationFiles, readDoc, type CodeBlock } from './markdown';

/** What a reader brings: their own API key, and the pool an earlier example made. */
const READER_SUPPLIES = `
import type { Pool as ReadersPool } from 'chunkmill';
declare const APPID: string;
declare const pool: ReadersPool;
`;

const TYPESCRIPT = /^(ts|typescript)(\s|$)/;
const NO_CHECK = /\bno-check\b/;
/** At most this many blocks may opt out of compiling. */
const MAX_UNCHECKED = 3;

function typescriptBlocks(): CodeBlock[] {
  return documentationFiles().flatMap((file) => codeBlocks(file, readDoc(file)).filter((block) => TYPESCRIPT.test(block.info)));
}

/**
 * A block that exports is a module of its own (a task module); any other block becomes the body of an
 * async function (the examples use top-level await) with its imports lifted above it.
 */
function asModule(block: CodeBlock): string {
  if (/^export /m.test(block.code)) return block.code;
  const lines = block.code.split('\n');
  const imports = lines.filter((line) => /^import /.test(line));
  const body = lines.filter((line) => !/^import /.test(line));
  return [...imports, READER_SUPPLIES, 'export async function readerSession(): Promise<void> {', ...body, '}', ''].join('\n');
}

/** Compiler problems of the blocks, as `file:line: message` with the line in the Markdown file. */
function compileProblems(blocks: CodeBlock[]): string[] {
  // Inside the repository (an ignored folder), so that the examples' own imports (zod) resolve.
  fs.mkdirSync(path.join(ROOT, 'test-artifacts'), { recursive: true });
  const folder = fs.mkdtempSync(path.join(ROOT, 'test-artifacts', 'doc-snippets-'));
  try {
    const files = blocks.map((block, index) => {
      const file = path.join(folder, `snippet-${index}.ts`);
      fs.writeFileSync(file, asModule(block));
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
      // The repository's own mapping of the package names to their sources (tsconfig.json's paths).
      paths: ts.readConfigFile(path.join(ROOT, 'tsconfig.json'), ts.sys.readFile).config.compilerOptions.paths,
    });
    return ts
      .getPreEmitDiagnostics(program)
      .filter((diagnostic) => diagnostic.file && files.includes(path.normalize(diagnostic.file.fileName)))
      .map((diagnostic) => {
        const block = blocks[files.indexOf(path.normalize(diagnostic.file!.fileName))]!;
        const where = diagnostic.file!.getLineAndCharacterOfPosition(diagnostic.start ?? 0);
        const text = diagnostic.file!.text.split('\n')[where.line] ?? '';
        // Map the generated file's line back to the block's line in the Markdown file.
        const blockLine = block.code.split('\n').indexOf(text);
        const line = blockLine >= 0 ? block.line + blockLine : block.line;
        return `${block.file}:${line}: ${ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')}`;
      });
  } finally {
    fs.rmSync(folder, { recursive: true, force: true });
  }
}

describe('TypeScript examples in the README and docs', () => {
  const blocks = typescriptBlocks();
  const checked = blocks.filter((block) => !NO_CHECK.test(block.info));

  test('there are examples to check, in the README, the SDK and the tasks pages', () => {
    const files = new Set(checked.map((block) => block.file));
    for (const file of ['README.md', 'docs/sdk.md', 'docs/tasks.md']) expect(files).toContain(file);
  });

  test('few blocks opt out of compiling, and they say so in their info string', () => {
    expect(blocks.length - checked.length).toBeLessThanOrEqual(MAX_UNCHECKED);
  });

  test('every example compiles, and a broken one would not', () => {
    // A known-bad block compiled alongside shows that problems are found and reported at their line.
    const broken: CodeBlock = { file: 'broken.md', line: 10, info: 'ts', code: "import { Pool } from 'chunkmill';\nconst p = new Pool();\nawait p.map(1);" };
    const problems = compileProblems([...checked, broken]);
    expect(problems.filter((problem) => !problem.startsWith('broken.md:'))).toEqual([]);
    expect(problems.some((problem) => problem.startsWith('broken.md:12:'))).toBe(true);
  }, 120_000);
});
