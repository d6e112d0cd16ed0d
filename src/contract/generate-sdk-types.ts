/**
 * Writes src/sdk/contract.generated.ts: the contract's named schemas as TypeScript types (through
 * json-schema-to-typescript, each field's description a doc comment), and the names of the fields that
 * are a submission's options. Run `npm run contract` after changing the contract; a test fails while
 * the committed file differs from a fresh generation. The output imports nothing: the SDK compiles on
 * its own.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { submissionOptionFields } from './workload-submission';
import { contractJsonSchemas, type JsonSchema } from './json-schema';

/** Where the generated file goes, from the repository's root (where `npm run` runs). */
export const GENERATED_SDK_TYPES = 'src/sdk/contract.generated.ts';

const BANNER = `/**
 * GENERATED from the API contract (src/contract) by \`npm run contract\`: do not edit by hand.
 * The types of what the chunkmill API accepts and answers; src/sdk/api-types.ts gives them the SDK's names.
 */`;

/** A component's name as a TypeScript type: `Error` would shadow the global Error. */
const sdkName = (name: string): string => (name === 'Error' ? 'ApiError' : name);

/** The schema without minItems/maxItems (a producer's MAX_ITEMS_PER_WORKLOAD is its own, not a type). */
function withoutItemCounts(schema: JsonSchema): JsonSchema {
  return JSON.parse(JSON.stringify(schema), function (this: Record<string, unknown>, key, value) {
    return (key === 'minItems' || key === 'maxItems') && typeof value === 'number' ? undefined : value;
  }) as JsonSchema;
}

export async function generateSdkTypes(): Promise<string> {
  const { compile } = await import('json-schema-to-typescript');
  const definitions = contractJsonSchemas({ maxItems: 1, ref: (name) => `#/$defs/${sdkName(name)}` });
  const titled = Object.fromEntries(
    Object.entries(definitions).map(([name, schema]) => [sdkName(name), { ...withoutItemCounts(schema), title: sdkName(name) }]),
  );
  const root: JsonSchema = {
    title: 'ContractTypes',
    type: 'object',
    properties: Object.fromEntries(Object.keys(titled).map((name) => [name, { $ref: `#/$defs/${name}` }])),
    additionalProperties: false,
    $defs: titled,
  };
  const types = await compile(root as never, 'ContractTypes', {
    bannerComment: '',
    additionalProperties: false,
    ignoreMinAndMaxItems: true,
    strictIndexSignatures: false,
    unknownAny: true,
    // Biome formats it below (json-schema-to-typescript's Prettier would need ES module loading).
    format: false,
  });
  // The root only gathers the definitions: drop it.
  const withoutRoot = types.replace(/export interface ContractTypes \{[\s\S]*?\n\}\n/, '');
  const fields = (name: 'compute' | 'fetch'): string =>
    `/** The option fields of a ${name} (every field but its items, type and task). */\n` +
    `export const ${name.toUpperCase()}_OPTION_FIELDS = ${JSON.stringify(submissionOptionFields(name))} as const;\n`;
  const text = [BANNER, '', withoutRoot.trim(), '', fields('compute'), fields('fetch')].join('\n');
  return formatted(wrapDocComments(text));
}

/** Doc comment lines (` * text`) wrapped at word boundaries: a description can be longer than a line. */
function wrapDocComments(text: string, width = 110): string {
  return text
    .split('\n')
    .flatMap((line) => {
      const comment = /^(\s*\* )(.*)$/.exec(line);
      if (!comment || line.length <= width) return [line];
      const [, lead, words] = comment as unknown as [string, string, string];
      const lines: string[] = [];
      let current = '';
      for (const word of words.split(' ')) {
        if (current !== '' && lead.length + current.length + 1 + word.length > width) {
          lines.push(lead + current);
          current = word;
        } else current = current === '' ? word : `${current} ${word}`;
      }
      return [...lines, lead + current];
    })
    .join('\n');
}

/** The repository's root (where biome.json is), from src/contract or dist/src/contract alike. */
function repositoryRoot(): string {
  let dir = __dirname;
  while (!existsSync(path.join(dir, 'biome.json')) && dir !== path.dirname(dir)) dir = path.dirname(dir);
  return dir;
}

/** The text as the project's formatter (Biome) writes it, so that the file passes `biome check`. */
function formatted(text: string): string {
  return execFileSync(process.execPath, [require.resolve('@biomejs/biome/bin/biome'), 'format', `--stdin-file-path=${GENERATED_SDK_TYPES}`], {
    input: text,
    encoding: 'utf8',
    cwd: repositoryRoot(),
    stdio: ['pipe', 'pipe', 'ignore'],
  });
}

// `--stdout`: print the text instead of writing the file (the freshness test compares it).
if (require.main === module) {
  void generateSdkTypes().then((text) => {
    if (process.argv.includes('--stdout')) process.stdout.write(text);
    else {
      writeFileSync(path.join(repositoryRoot(), GENERATED_SDK_TYPES), text);
      process.stdout.write(`wrote ${GENERATED_SDK_TYPES}\n`);
    }
  });
}
