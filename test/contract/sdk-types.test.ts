/**
 * The SDK's types come from the contract: src/sdk/contract.generated.ts is what `npm run contract`
 * generates now (a contract change without a regeneration fails here), it and api-types.ts import
 * nothing from outside src/sdk, and every option field of the contract's submissions is an option of
 * the Pool's calls (checked at compile time below).
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { computeSubmissionSchema, fetchSubmissionSchema, SUBMISSION_ITEM_FIELDS } from '../../src/contract';
import { GENERATED_SDK_TYPES } from '../../src/contract/generate-sdk-types';
import type { FetchOptions, MapOptions } from '../../src/sdk';
import { COMPUTE_OPTION_FIELDS, FETCH_OPTION_FIELDS } from '../../src/sdk/api-types';

const ROOT = path.resolve(__dirname, '../..');

// Compile time: a contract field the Pool's options lack makes `never` here, and the assignments fail.
type MissingFrom<Options, Fields extends string> = Exclude<Fields, keyof Options>;
const computeFieldsInMap: MissingFrom<MapOptions, (typeof COMPUTE_OPTION_FIELDS)[number]> extends 'reduce' | 'elementsPerItem' ? true : false = true;
const fetchFieldsInFetch: [MissingFrom<FetchOptions, (typeof FETCH_OPTION_FIELDS)[number]>] extends [never] ? true : false = true;

describe('the SDK types generated from the contract', () => {
  it('src/sdk/contract.generated.ts is up to date (else: run `npm run contract`)', async () => {
    const committed = readFileSync(path.join(ROOT, GENERATED_SDK_TYPES), 'utf8');
    // In a child process, from the sources: json-schema-to-typescript loads ES modules, which Jest's runtime cannot.
    const fresh = await new Promise<string>((resolve, reject) =>
      execFile(
        process.execPath,
        ['-r', path.join(ROOT, 'test/utils/swc-register.js'), path.join(ROOT, 'src/contract/generate-sdk-types.ts'), '--stdout'],
        { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 },
        (error, stdout, stderr) => (error ? reject(new Error(`the generator failed: ${stderr}`)) : resolve(stdout)),
      ),
    );
    if (committed !== fresh) throw new Error(`${GENERATED_SDK_TYPES} differs from the contract: run \`npm run contract\` and commit the result`);
  }, 30_000);

  it('carries the descriptions as doc comments and imports nothing', () => {
    const text = readFileSync(path.join(ROOT, GENERATED_SDK_TYPES), 'utf8');
    expect(text).not.toMatch(/^import /m);
    expect(text).toMatch(/\* Requests in flight for the whole workload, across every worker\. Default 16\n\s*\*\/\n\s*concurrency\?: number;/);
    expect(text).toContain('maxResponseBytes?: number;');
  });

  it('src/sdk/api-types.ts takes its types from the generated file only', () => {
    const text = readFileSync(path.join(ROOT, 'src/sdk/api-types.ts'), 'utf8');
    const sources = [...text.matchAll(/from '([^']+)'/g)].map((match) => match[1]);
    expect(new Set(sources)).toEqual(new Set(['./contract.generated']));
  });

  it("lists the submissions' option fields as the contract has them", () => {
    const options = (shape: object) => Object.keys(shape).filter((field) => !(SUBMISSION_ITEM_FIELDS as readonly string[]).includes(field));
    expect([...COMPUTE_OPTION_FIELDS]).toEqual(options(computeSubmissionSchema(1).shape));
    expect([...FETCH_OPTION_FIELDS]).toEqual(options(fetchSubmissionSchema(1).shape));
    expect([computeFieldsInMap, fetchFieldsInFetch]).toEqual([true, true]);
  });
});
