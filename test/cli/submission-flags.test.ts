/**
 * The submit command's options are the contract's: every option field of the compute and fetch
 * submissions has a flag (or is listed in NOT_IN_CLI with the reason), with the field's description
 * from the contract as its help, so a field added to the contract without a flag fails here.
 */
import type { Command, Option } from 'commander';
import { computeSubmissionSchema, fetchSubmissionSchema, LIMITS, SUBMISSION_ITEM_FIELDS } from '../../src/contract';
import { buildProgram } from '../../src/cli/main';
import { NOT_IN_CLI, SUBMISSION_FLAGS } from '../../src/cli/submission-flags';

const optionFields = (shape: object) => Object.keys(shape).filter((field) => !(SUBMISSION_ITEM_FIELDS as readonly string[]).includes(field));

describe('submit flags from the contract', () => {
  const submit = buildProgram(async () => undefined).commands.find((command: Command) => command.name() === 'submit')!;
  const byField = new Map(submit.options.map((option: Option) => [option.attributeName(), option]));

  it('every option field of the compute and fetch submissions has a flag', () => {
    const fields = new Set([...optionFields(computeSubmissionSchema(1).shape), ...optionFields(fetchSubmissionSchema(1).shape)]);
    const missing = [...fields].filter((field) => !(field in SUBMISSION_FLAGS) && !(field in NOT_IN_CLI));
    expect(missing).toEqual([]);
    for (const field of Object.keys(SUBMISSION_FLAGS)) {
      expect(fields).toContain(field);
      // commander names the option's value after the contract's field.
      expect(byField.get(field)).toBeDefined();
    }
  });

  it("takes each flag's help and bounds from the contract", () => {
    expect(byField.get('concurrency')!.description).toContain('Requests in flight for the whole workload, across every worker');
    expect(byField.get('concurrency')!.description).not.toContain('per chunk');
    expect(byField.get('maxResponseBytes')!.flags).toBe('--max-response-bytes <bytes>');
    expect(byField.get('reduce')!.argChoices).toEqual(['sum', 'min', 'max', 'count']);
    const parse = byField.get('maxResponseBytes')!.parseArg!;
    expect(parse('1024', undefined)).toBe(1024);
    expect(() => parse(String(LIMITS.maxMaxResponseBytes + 1), undefined)).toThrow(/from 1 to/);
  });
});
