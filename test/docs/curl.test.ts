/**
 * The `curl` commands of the README and docs/*.md that talk to the producer API must be ones it accepts:
 * the method and path exist in the OpenAPI document (`{id}`-style templates match any segment), and every
 * body sent to `POST /v1/workloads` is literal JSON that validates against the document's
 * WorkloadSubmission schema (ajv, JSON Schema 2020-12 as OpenAPI 3.1 uses). A body that is not valid
 * JSON, or is not written out (read from a file, made by a command), fails.
 */
import Ajv2020 from 'ajv/dist/2020';
import { buildOpenApiDocument } from '../../src/producer/openapi';
import { codeBlocks, documentationFiles, readDoc } from './markdown';

/** A shell word, or an operator that ends a command (`|`, `;`, `&&`, `(`, `)`, a newline). */
interface Token {
  word?: string;
  operator?: string;
  /** The word held a command substitution or a variable outside single quotes. */
  expands?: boolean;
  /** 0-based line of the text where the token starts. */
  line: number;
}

/** Splits shell text into words and operators: quotes, backslash escapes and line continuations, comments. */
function shellTokens(text: string): Token[] {
  const tokens: Token[] = [];
  let word: string | undefined;
  let expands = false;
  let wordLine = 0;
  const lineAt = (index: number) => text.slice(0, index).split('\n').length - 1;
  const end = () => {
    if (word !== undefined) tokens.push({ word, expands, line: wordLine });
    word = undefined;
    expands = false;
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (word === undefined && !' \t\n|;&()<>#'.includes(c) && !(c === '$' && text[i + 1] === '(')) wordLine = lineAt(i);
    if (c === '\\' && text[i + 1] === '\n') {
      i++;
      continue;
    }
    if (c === '\\') {
      word = (word ?? '') + (text[i + 1] ?? '');
      i++;
    } else if (c === "'") {
      const close = text.indexOf("'", i + 1);
      word = (word ?? '') + text.slice(i + 1, close < 0 ? text.length : close);
      i = close < 0 ? text.length : close;
    } else if (c === '"') {
      let j = i + 1;
      let value = '';
      for (; j < text.length && text[j] !== '"'; j++) {
        if (text[j] === '\\' && '"\\$`\n'.includes(text[j + 1] ?? '')) value += text[++j] === '\n' ? '' : text[j];
        else {
          if (text[j] === '$' || text[j] === '`') expands = true;
          value += text[j];
        }
      }
      word = (word ?? '') + value;
      i = j;
    } else if (c === '#' && word === undefined) {
      while (i + 1 < text.length && text[i + 1] !== '\n') i++;
    } else if (c === '$' && text[i + 1] === '(') {
      end();
      tokens.push({ operator: '(', line: lineAt(i) });
      i++;
    } else if (' \t'.includes(c)) end();
    else if ('\n|;&()<>'.includes(c)) {
      end();
      tokens.push({ operator: c, line: lineAt(i) });
    } else {
      if (c === '$' || c === '`') expands = true;
      word = (word ?? '') + c;
    }
  }
  end();
  return tokens;
}

interface CurlCommand {
  file: string;
  line: number;
  method: string;
  url: string;
  /** The data sent (-d, --data, --data-raw, --data-binary, --json), as the shell hands it to curl. */
  body?: string;
  bodyExpands?: boolean;
}

const WITH_VALUE = new Set([
  '-X',
  '--request',
  '-H',
  '--header',
  '-d',
  '--data',
  '--data-raw',
  '--data-binary',
  '--data-ascii',
  '--json',
  '-o',
  '--output',
  '-u',
  '--user',
  '-w',
  '--write-out',
  '-m',
  '--max-time',
  '-A',
  '--user-agent',
]);
const DATA = new Set(['-d', '--data', '--data-raw', '--data-binary', '--data-ascii', '--json']);

/** Every curl command of a shell block. */
function curlCommands(file: string, line: number, code: string): CurlCommand[] {
  const tokens = shellTokens(code);
  const commands: CurlCommand[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    if (token.word === undefined || !/(^|=)curl$/.test(token.word.replace(/^.*\(/, ''))) continue;
    const command: Partial<CurlCommand> = { file, line: line + token.line };
    let method: string | undefined;
    for (i++; i < tokens.length && tokens[i]!.operator === undefined; i++) {
      const word = tokens[i]!.word!;
      if (WITH_VALUE.has(word)) {
        const value = tokens[++i];
        if (word === '-X' || word === '--request') method = value?.word;
        if (DATA.has(word)) {
          command.body = value?.word;
          command.bodyExpands = value?.expands;
        }
      } else if (!word.startsWith('-')) command.url = word;
    }
    commands.push({ ...command, method: method ?? (command.body === undefined ? 'GET' : 'POST'), url: command.url ?? '' } as CurlCommand);
  }
  return commands;
}

/** The API path of a URL to the producer (port 3000 or $CHUNKMILL_URL), or undefined for another server. */
function producerPath(url: string): string | undefined {
  const match = /^(?:https?:\/\/)?(?:localhost|127\.0\.0\.1):3000(\/[^?#]*)?|^\$\{?CHUNKMILL_URL\}?(\/[^?#]*)?/.exec(url);
  if (!match) return undefined;
  return match[1] ?? match[2] ?? '/';
}

/** The OpenAPI path template a concrete path matches: `{name}` stands for any one segment. */
function matchTemplate(paths: string[], concrete: string): string | undefined {
  const segments = concrete.split('/');
  return paths.find((template) => {
    const parts = template.split('/');
    return parts.length === segments.length && parts.every((part, index) => (/^\{\w+\}$/.test(part) ? segments[index]!.length > 0 : part === segments[index]));
  });
}

describe('curl examples in the README and docs', () => {
  const document = buildOpenApiDocument({ maxItemsPerWorkload: 1_000_000 }) as { paths: Record<string, Record<string, unknown>> };
  const ajv = new Ajv2020({ strict: false });
  ajv.addSchema(document, 'openapi.json');
  const validate = ajv.getSchema('openapi.json#/components/schemas/WorkloadSubmission')!;

  const commands = documentationFiles().flatMap((file) =>
    codeBlocks(file, readDoc(file))
      .filter((block) => !/^(ts|typescript|text|json)\b/.test(block.info))
      .flatMap((block) => curlCommands(file, block.line, block.code)),
  );
  const toProducer = commands.filter((command) => producerPath(command.url) !== undefined);
  const submissions = toProducer.filter((command) => command.method === 'POST' && producerPath(command.url) === '/v1/workloads');

  function problemsOf(command: CurlCommand): string[] {
    const where = `${command.file}:${command.line}: curl -X ${command.method} ${command.url}`;
    const apiPath = producerPath(command.url)!;
    const template = matchTemplate(Object.keys(document.paths), apiPath);
    if (!template) return [`${where}: no such path in the OpenAPI document`];
    if (!document.paths[template]![command.method.toLowerCase()]) return [`${where}: ${command.method} is not an operation of ${template}`];
    if (template !== '/v1/workloads' || command.method !== 'POST') return [];
    if (command.body === undefined) return [`${where}: no body`];
    if (command.body.startsWith('@') || command.bodyExpands) return [`${where}: the body is not written out as JSON`];
    let body: unknown;
    try {
      body = JSON.parse(command.body);
    } catch (error) {
      return [`${where}: the body is not valid JSON (${(error as Error).message})`];
    }
    return validate(body) ? [] : [`${where}: ${ajv.errorsText(validate.errors)}`];
  }

  test('the docs have curl examples to check, submissions among them', () => {
    expect(toProducer.length).toBeGreaterThanOrEqual(10);
    expect(submissions.length).toBeGreaterThanOrEqual(5);
    expect(new Set(submissions.map((command) => command.file))).toEqual(new Set(['README.md', 'docs/http-api.md']));
  });

  test('every curl to the producer uses a documented path and method, and every submission validates', () => {
    expect(toProducer.flatMap(problemsOf)).toEqual([]);
  });

  test('the checks catch what they should', () => {
    const check = (code: string) => curlCommands('x.md', 1, code).flatMap(problemsOf);
    expect(
      check(`curl -s -X POST localhost:3000/v1/workloads -H 'content-type: application/json' -d '{"type":"compute","task":"sumSquares","inputs":[1]}'`),
    ).toEqual([]);
    expect(check(`curl -s -X POST localhost:3000/v1/workloads -d '{"type":"compute","task":"sumSquares","inputs":[1],}'`)[0]).toMatch(/not valid JSON/);
    expect(check(`curl -s -X POST localhost:3000/v1/workloads -d '{"type":"compute","task":"sumSquares","inputs":[1],"chunksize":4}'`)[0]).toMatch(
      /chunksize|additional/,
    );
    expect(check(`curl -s -X POST localhost:3000/v1/workloads -d "{\\"type\\":\\"compute\\",\\"inputs\\":$(seq 3)}"`)[0]).toMatch(/not written out/);
    expect(check('curl -s localhost:3000/v1/workload/abc')[0]).toMatch(/no such path/);
    expect(check('curl -s -X PATCH "localhost:3000/v1/workloads/$id"')[0]).toMatch(/not an operation/);
    expect(check('id=$(curl -s "localhost:3000/v1/workloads/$id/results?wait=1" | node -p 1)')).toEqual([]);
  });
});
