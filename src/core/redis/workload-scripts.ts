/**
 * The scripts that change a workload's state (lua/*.lua), as typed functions. workload-store.ts is the
 * only user: it fills the keys from Keys.workload and the arguments from its callers.
 */
import type { WorkloadStatus } from '../workload';
import { decode, defineScript } from './redis-script';

export type StatusOrMissing = WorkloadStatus | 'missing';

/** What recording a chunk's outcomes did: the workload's status afterwards, and how many outcomes were new. */
export interface RecordChunkAnswer {
  status: StatusOrMissing;
  newlyCompleted: number;
  newlyFailed: number;
}

export const recordChunkScript = defineScript({
  file: 'record-chunk',
  keys: ['meta', 'results', 'chunks', 'requestHeaders'] as const,
  args: ['now', 'ttlSeconds', 'eventsChannel', 'finishedChannel', 'workloadId', 'chunkIndex', 'chunkStart', 'packed', 'okCount', 'errorCount'] as const,
  decode: (reply): RecordChunkAnswer => {
    const [status, newlyCompleted, newlyFailed] = reply as [string, number, number];
    return { status: status as StatusOrMissing, newlyCompleted: Number(newlyCompleted), newlyFailed: Number(newlyFailed) };
  },
});

export const markRunningScript = defineScript({
  file: 'mark-running',
  keys: ['meta'] as const,
  args: ['now', 'eventsChannel'] as const,
  decode: (reply) => String(reply) as StatusOrMissing,
});

/** What `cancel` found: the workload was cancelled by this call, or already final, or not there. */
export type CancelOutcome = 'cancelled-now' | 'cancelled' | 'completed' | 'failed' | 'missing';

export const cancelScript = defineScript({
  file: 'cancel',
  keys: ['meta', 'chunks', 'requestHeaders'] as const,
  args: ['now', 'eventsChannel', 'finishedChannel', 'cancelChannel', 'workloadId'] as const,
  decode: (reply) => String(reply) as CancelOutcome,
});

export const chunksMissingOutcomesScript = defineScript({
  file: 'chunks-missing-outcomes',
  keys: ['results'] as const,
  args: ['fromChunk', 'toChunk'] as const,
  decode: decode.numbers,
});

/** What read-results answers: the record's fields (undefined: no such workload) and the first chunks' texts. */
export interface ResultsRead {
  fields?: Record<string, string>;
  /** The index of `texts[0]`'s chunk. */
  firstChunk: number;
  /** Stored chunk texts (null: none stored yet), as Buffers. */
  texts: Array<Buffer | null>;
}

export const readResultsScript = defineScript({
  file: 'read-results',
  keys: ['meta', 'results'] as const,
  args: ['offset', 'count'] as const,
  buffers: true,
  decode: (reply): ResultsRead => {
    const [record, firstChunk, ...texts] = reply as [Buffer[], number | undefined, ...Array<Buffer | null>];
    if (record.length === 0) return { firstChunk: 0, texts: [] };
    const fields: Record<string, string> = {};
    for (let at = 0; at < record.length; at += 2) fields[record[at].toString()] = record[at + 1].toString();
    return { fields, firstChunk: Number(firstChunk ?? 0), texts };
  },
});

export const WORKLOAD_SCRIPTS = [recordChunkScript, markRunningScript, cancelScript, chunksMissingOutcomesScript, readResultsScript];
