/**
 * The `submit` command's flags for the submission's options, made from the API contract: each field of
 * the compute and fetch submission schemas (but their items) maps to a flag here, and the flag's help,
 * bounds and choices are read from the field's schema. test/cli/submission-flags.test.ts fails when a
 * contract field has no flag (and is not listed in NOT_IN_CLI with the reason).
 */
import { Option } from 'commander';
import { computeSubmissionSchema, fetchSubmissionSchema, submissionOptionFields, toJsonSchema, type JsonSchema } from '../contract';
import { integerOption } from './context';

/** Each submission option field, and its flag (commander camel-cases the flag back into the field's name). */
export const SUBMISSION_FLAGS = {
  chunkSize: '--chunk-size <n>',
  attempts: '--attempts <n>',
  timeoutMs: '--timeout-ms <ms>',
  priority: '--priority <n>',
  reduce: '--reduce <op>',
  cache: '--cache',
  extract: '--extract <path>',
  concurrency: '--concurrency <n>',
  perHostConcurrency: '--per-host-concurrency <n>',
  retries: '--retries <n>',
  maxResponseBytes: '--max-response-bytes <bytes>',
} as const;

/** Option fields the CLI does not offer, and why. */
export const NOT_IN_CLI: Record<string, string> = {
  elementsPerItem: 'applies to array workloads (`arrays`), which the CLI does not submit',
};

export type SubmissionField = keyof typeof SUBMISSION_FLAGS;
export type WorkloadKind = 'compute' | 'fetch';

function properties(kind: WorkloadKind): Record<string, JsonSchema> {
  const schema = kind === 'compute' ? computeSubmissionSchema(1) : fetchSubmissionSchema(1);
  return (toJsonSchema(schema, 'input') as { properties: Record<string, JsonSchema> }).properties;
}

/** The kinds of workload a field applies to. */
export function kindsOf(field: string): WorkloadKind[] {
  return (['compute', 'fetch'] as const).filter((kind) => submissionOptionFields(kind).includes(field));
}

/** The submit command's options for every field of SUBMISSION_FLAGS, described by the contract. */
export function submissionOptions(): Option[] {
  const schemas = { compute: properties('compute'), fetch: properties('fetch') };
  return Object.entries(SUBMISSION_FLAGS).map(([field, flags]) => {
    const kinds = kindsOf(field);
    const [first] = kinds.map((kind) => schemas[kind][field]);
    const descriptions = kinds.map((kind) => String(schemas[kind][field].description ?? ''));
    const description =
      kinds.length === 2 && descriptions[0] === descriptions[1]
        ? descriptions[0]
        : kinds.map((kind, index) => `${kind === 'fetch' ? '--fetch' : 'compute'}: ${descriptions[index]}`).join('; ');
    const name = flags.split(' ')[0];
    const option = new Option(flags, description);
    if (first.type === 'integer') {
      // The bounds of the widest kind; the server checks each kind's own.
      const min = Math.min(...kinds.map((kind) => Number(schemas[kind][field].minimum ?? 0)));
      const max = Math.max(...kinds.map((kind) => Number(schemas[kind][field].maximum ?? Number.MAX_SAFE_INTEGER)));
      option.argParser(integerOption(name, min, max));
    } else if (Array.isArray(first.enum)) option.choices(first.enum.map(String));
    return option;
  });
}
