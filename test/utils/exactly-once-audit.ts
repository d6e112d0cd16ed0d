/**
 * The Jepsen-style check behind every fault scenario: remember each workload the producer accepted
 * (202) with the outcome each of its items must have, and after the faults check every one of them:
 * - lost: an item whose exact expected outcome is not stored (missing, wrong value, wrong error code,
 *   or the workload never finished);
 * - counted twice: an index stored both as a result and as an error, or counters (`completed`,
 *   `failed`) larger than the outcomes actually stored;
 * - stuck: a workload still not final (`completed`, `failed`, `cancelled`) when the wait ends. Its items
 *   without an outcome are counted there, not as lost; a wrong outcome stored is lost all the same.
 * A workload noted as cancelled (`cancelled(id)`) may end `cancelled` with items that never ran; every
 * outcome it did store must still be exact.
 * Each audit appends a row to the run's summary table (see fault-summary-reporter.js), with the
 * slowest request the scenario noted (`noteRequest`), when it timed its requests.
 *
 * A fault that destroys Redis's data (restarted empty) loses accepted workloads by definition; what
 * chunkmill owes then is to say so. `auditReportedLost` checks that: every accepted workload must
 * answer 410 WORKLOAD_LOST; one that answers anything else (a silent 404, a result) counts as lost.
 */
import { ERROR_MARK, SLOT_SEPARATOR } from '../../src/core/redis/protocol-constants';
import fs from 'node:fs';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { Keys } from '../../src/core/keys';
import { scanKeys, type RedisClient } from '../../src/core/redis-connection';
import type { ApiClient } from './api-client';

/**
 * What one item must end as: a result value, a result object with these fields (fetch results carry
 * timings that differ from run to run), or an item error with this code.
 */
export type ExpectedItem = { value: unknown } | { like: Record<string, unknown> } | { code: string };

export const expectValues = (values: unknown[]): ExpectedItem[] => values.map((value) => ({ value }));

export interface AuditResult {
  scenario: string;
  workloads: number;
  /** Items of all accepted workloads. */
  accepted: number;
  lost: number;
  countedTwice: number;
  /** Workloads not final when the wait ended. */
  stuck: number;
  /** Items without an outcome in those workloads. */
  stuckItems: number;
  /** Ids of the stuck workloads. */
  stuckIds: string[];
  /** The slowest answer of the requests the scenario timed (`noteRequest`), ms; undefined when it timed none. */
  slowestRequestMs?: number;
  /** Items of accepted workloads that chunkmill reported lost (410 WORKLOAD_LOST): gone, and said so. */
  reportedLost?: number;
  /** What went wrong, readable in a failed expectation. Empty when all is exact. */
  problems: string[];
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { summaryFile } = require('./fault-summary-reporter') as { summaryFile: () => string };

/** How many workloads are checked at once. */
const AUDIT_CONCURRENCY = 32;
const MAX_PROBLEMS = 20;
const FINAL_STATUSES = new Set(['completed', 'failed', 'cancelled']);

function isExact(item: ExpectedItem, result: unknown, errorCode: string | undefined): boolean {
  if ('code' in item) return errorCode === item.code && result === null;
  if (errorCode !== undefined) return false;
  if ('value' in item) return isDeepStrictEqual(result, item.value);
  if (typeof result !== 'object' || result === null) return false;
  return Object.entries(item.like).every(([field, value]) => isDeepStrictEqual((result as Record<string, unknown>)[field], value));
}

export class ExactlyOnceLedger {
  private readonly accepted = new Map<string, ExpectedItem[]>();
  /** Workloads the test cancelled: they may end `cancelled` with some items never run. */
  private readonly cancelledIds = new Set<string>();
  private readonly keys: Keys;
  private slowestRequestMs?: number;

  constructor(
    private readonly api: () => ApiClient,
    private readonly connect: () => RedisClient,
    prefix = 'chunkmill',
  ) {
    this.keys = new Keys(prefix);
  }

  accept(id: string, expected: ExpectedItem[]): void {
    this.accepted.set(id, expected);
  }

  /** Notes how long one of the scenario's requests took to be answered (the audit's own long-polls are not counted). */
  noteRequest(ms: number): void {
    this.slowestRequestMs = Math.max(this.slowestRequestMs ?? 0, ms);
  }

  /** Notes that `id` was (or is about to be) cancelled. */
  cancelled(id: string): void {
    this.cancelledIds.add(id);
  }

  /** A summary row with nothing counted yet. */
  private emptyResult(scenario: string): AuditResult {
    return {
      scenario,
      workloads: this.accepted.size,
      accepted: 0,
      lost: 0,
      countedTwice: 0,
      stuck: 0,
      stuckItems: 0,
      stuckIds: [],
      slowestRequestMs: this.slowestRequestMs,
      problems: [],
    };
  }

  get ids(): string[] {
    return [...this.accepted.keys()];
  }

  /**
   * Waits (up to `waitMs` in all) for every accepted workload to finish, checks each item, and adds
   * the scenario's row to the summary table.
   */
  async audit(scenario: string, waitMs = 60_000): Promise<AuditResult> {
    const redis = this.connect();
    const deadline = Date.now() + waitMs;
    const result = this.emptyResult(scenario);
    const problem = (text: string): void => {
      if (result.problems.length < MAX_PROBLEMS) result.problems.push(text);
    };
    const entries = [...this.accepted.entries()];
    for (let offset = 0; offset < entries.length; offset += AUDIT_CONCURRENCY) {
      await Promise.all(
        entries.slice(offset, offset + AUDIT_CONCURRENCY).map(async ([id, expected]) => {
          result.accepted += expected.length;
          const wait = Math.max(0, Math.min(300_000, deadline - Date.now()));
          const answer = await this.api().get(`/v1/workloads/${id}/results?wait=${wait}`);
          const view = await this.api().get(`/v1/workloads/${id}`);
          if (answer.status !== 200 || view.status !== 200) {
            result.lost += expected.length;
            problem(`${id}: results ${answer.status}, view ${view.status}`);
            return;
          }
          const keys = this.keys.workload(id);
          // The outcomes Redis holds, slot by slot (core/results-packing.ts): what the counters must match.
          let storedResults = 0;
          let storedErrors = 0;
          for (const packed of Object.values(await redis.hgetall(keys.results))) {
            for (const slot of packed.split(SLOT_SEPARATOR)) {
              if (slot.startsWith(ERROR_MARK)) storedErrors++;
              else if (slot !== '') storedResults++;
            }
          }
          const errorByIndex = new Map<number, string>(answer.body.errors.map((error: { index: number; code: string }) => [error.index, error.code]));
          const status: string = view.body.status;
          const final = FINAL_STATUSES.has(status);
          const cancelled = status === 'cancelled' && this.cancelledIds.has(id);
          if (!final) {
            result.stuck++;
            result.stuckIds.push(id);
            problem(`${id}: stuck, status ${status} (completed ${view.body.completed}, failed ${view.body.failed} of ${expected.length})`);
          }
          let lostHere = 0;
          expected.forEach((item, index) => {
            const value = answer.body.results[index];
            const code = errorByIndex.get(index);
            if (isExact(item, value, code)) return;
            // No outcome yet: stuck (workload not final) or never run (cancelled); anything else stored is wrong.
            if ((value ?? null) === null && code === undefined && (!final || cancelled)) {
              if (!final) result.stuckItems++;
              return;
            }
            lostHere++;
            problem(`${id}[${index}]: expected ${JSON.stringify(item)}, got result ${JSON.stringify(value)} error ${code}`);
          });
          const twice =
            Math.max(0, view.body.completed - storedResults) +
            Math.max(0, view.body.failed - storedErrors) +
            Math.max(0, view.body.completed + view.body.failed - expected.length);
          if (twice > 0)
            problem(`${id}: counted twice ${twice} (completed ${view.body.completed}, failed ${view.body.failed}, stored ${storedResults} + ${storedErrors})`);
          const wantStatus = expected.every((item) => !('code' in item)) ? 'completed' : 'failed';
          if (final && status !== wantStatus && !cancelled) problem(`${id}: status ${status}, expected ${wantStatus}`);
          result.lost += lostHere;
          result.countedTwice += twice;
        }),
      );
    }
    recordSummaryRow(result);
    return result;
  }

  /**
   * For a fault that destroyed Redis's data: asks the producer about every accepted workload. Answers
   * 410 WORKLOAD_LOST count as reported lost; anything else counts as lost (silently) with a problem
   * line. Adds the scenario's row to the summary table.
   */
  async auditReportedLost(scenario: string): Promise<AuditResult> {
    const result = this.emptyResult(scenario);
    result.reportedLost = 0;
    for (const [id, expected] of this.accepted) {
      result.accepted += expected.length;
      const view = await this.api().get(`/v1/workloads/${id}`);
      if (view.status === 410 && view.body?.error?.code === 'WORKLOAD_LOST') result.reportedLost! += expected.length;
      else {
        result.lost += expected.length;
        if (result.problems.length < MAX_PROBLEMS)
          result.problems.push(`${id}: ${view.status} ${JSON.stringify(view.body).slice(0, 200)}, expected 410 WORKLOAD_LOST`);
      }
    }
    recordSummaryRow(result);
    return result;
  }

  /**
   * Traces of workloads that were never accepted: workload records and chunk jobs whose workload id
   * got no 202. After a refused submission there must be none (nothing half-enqueued).
   */
  async unaccepted(): Promise<{ workloads: string[]; jobs: string[] }> {
    const redis = this.connect();
    const metaPattern = new RegExp(`^${this.keys.prefix}:wl:\\{(.+)\\}:meta$`);
    const queue = this.keys.queueName('compute').replace(/[{}]/g, '\\$&');
    const jobPattern = new RegExp(`^${this.keys.prefix}:${queue}:([0-9a-f-]{36})-\\d+$`);
    const workloads: string[] = [];
    const jobs: string[] = [];
    for (const key of await scanKeys(redis, `${this.keys.prefix}:*`)) {
      const meta = metaPattern.exec(key);
      if (meta && !this.accepted.has(meta[1])) workloads.push(meta[1]);
      const job = jobPattern.exec(key);
      if (job && !this.accepted.has(job[1])) jobs.push(key);
    }
    const indexed = await redis.zrange(this.keys.workloadIndex, 0, -1);
    for (const id of indexed) if (!this.accepted.has(id) && !workloads.includes(id)) workloads.push(id);
    return { workloads, jobs };
  }
}

function recordSummaryRow(result: AuditResult): void {
  const file = summaryFile();
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const { scenario, workloads, accepted, lost, countedTwice, stuck, slowestRequestMs, reportedLost = 0 } = result;
  fs.appendFileSync(file, `${JSON.stringify({ scenario, workloads, accepted, lost, countedTwice, stuck, slowestRequestMs, reportedLost })}\n`);
}
