/**
 * The life of one chunk job, whatever its type: the skeleton that the compute and fetch processors share.
 *
 *   markRunning ─▶ (workload final? stop) ─▶ run every unfinished item, keeping each outcome for the
 *     chunk's write (chunk-recorder.ts; on a chunk's first run, markRunning goes alongside the items
 *     instead of before them, see below)
 *     ─▶ cancelled?        stop quietly (the workload is already final)
 *     ─▶ shutting down?    hand the chunk back to the queue (moveToDelayed + HandBackError, a DelayedError): no attempt used
 *                          (the lock gone meanwhile: NotHandedBackError, the stalled checker gives the job back)
 *     ─▶ retryable failures and attempts left?  throw, so that BullMQ runs the chunk again; the retry runs
 *                          only the items still unfinished (exactly-once recording, see workload-store.ts)
 *     ─▶ otherwise         record the outcomes (the failures as the items' errors); the job completes,
 *                          in the same round trip where Redis allows it (recording-order.ts)
 *
 * A failure marked `permanent` (a refused address, a body over the cap) is recorded at once: running the
 * chunk again could not change it.
 */
import { setMaxListeners } from 'node:events';
import { SpanKind, type Attributes, type Span } from '@opentelemetry/api';
import type { Job } from 'bullmq';
import { ItemError } from '../core/errors';
import { chunkPosition } from '../core/results-packing';
import { inCarriedSpan, inChildSpan, tracedWorkerId, tracingOn, urlsAsOrigins } from '../core/tracing';
import type { WorkloadStore } from '../core/workload-store';
import type { ChunkJobData, ItemOutcome } from '../core/workload';
import { ChunkRecorder } from './chunk-recorder';
import { endsInHandBack, HandBackError, isHandedBackFailure, NotHandedBackError } from './hand-back';
import { linkedAbort } from './linked-abort';
import type { RecordingOrder } from './recording-order';
import type { WorkloadSessions } from './workload-session';

export interface ChunkOutcome {
  /** Items that ran in this attempt. */
  ran: number;
  /** Items that failed in this attempt. */
  failed: number;
  /** Set when the chunk did not run to its end: the workload was already final, or was cancelled. */
  stopped?: string;
}

export interface ChunkRunDeps {
  store: WorkloadStore;
  /** Whether a chunk's last recording may go out ahead of its completion, unanswered. */
  recordingOrder: RecordingOrder;
  /** Per workload: a chunk retains its workload's session, to be stopped when the workload is cancelled. */
  sessions: WorkloadSessions;
  /** Aborts when the process is shutting down and its grace period is over. */
  shutdownSignal: AbortSignal;
}

/** How a runner reports one item's end: its value, or what it threw (an ItemError fails the item). */
export type SettleItem = (index: number, result: { value: unknown } | { error: unknown }) => void;

/** Runs a chunk's items: one by one (`run`), or all together (`runAll`), whichever it offers. */
export interface ChunkItemRunner {
  /** Runs item `index` (its index in the workload) and answers its value; an ItemError fails the item. */
  run?(index: number, signal: AbortSignal): Promise<unknown>;
  /**
   * Runs the items at `indexes` and settles each once, as it ends; answers when all have. For runners
   * that hand items over in batches: no promise per item.
   */
  runAll?(indexes: number[], signal: AbortSignal, settle: SettleItem): Promise<void>;
  /** Failures that another attempt could not change: recorded at once. @defaultValue none */
  isPermanent?(error: ItemError): boolean;
  /**
   * With tracing on, the attributes of an item's span (`run` runners: one `chunkmill.item` span per item):
   * without `value`, what the item is; with it, what it answered.
   */
  describe?(index: number, value?: unknown): Attributes;
}

/** True when this run of the job is its last attempt: a failure now is the item's final word. */
export const isLastAttempt = (job: Job): boolean => job.attemptsMade + 1 >= (job.opts.attempts ?? 1);

const range = (start: number, count: number): number[] => Array.from({ length: count }, (_, offset) => start + offset);

/**
 * Runs one attempt of a chunk job. With tracing on and a job that carries its workload's trace context,
 * inside a `chunkmill.chunk` span (core/tracing.ts), whose `chunkmill.chunk.outcome` says how it ended:
 * recorded, stopped (`chunkmill.chunk.stopped`: the workload's status), handed-back (`chunkmill.chunk.hand_back.reason`:
 * shutting down, or a failure the infrastructure guard hands back: not an error), left-to-stall-check (the
 * hand-back found the lock gone), retry or error.
 */
export function runChunk(job: Job<ChunkJobData>, token: string | undefined, deps: ChunkRunDeps, items: ChunkItemRunner): Promise<ChunkOutcome> {
  const { data } = job;
  if (!data.trace || !tracingOn()) return runChunkAttempt(job, token, deps, items);
  const attributes = {
    'chunkmill.workload.id': data.workloadId,
    'chunkmill.chunk.index': data.chunkIndex,
    'chunkmill.chunk.items': chunkPosition(data).size,
    'chunkmill.chunk.attempt': job.attemptsMade + 1,
    'chunkmill.queue': data.type,
    'chunkmill.worker.id': tracedWorkerId() ?? '',
    'messaging.system': 'bullmq',
    'messaging.destination.name': job.queueName,
    'messaging.message.id': job.id ?? '',
  };
  return inCarriedSpan(
    data.trace,
    'chunkmill.chunk',
    SpanKind.CONSUMER,
    attributes,
    async (span?: Span) => {
      try {
        const outcome = await runChunkAttempt(job, token, deps, items);
        span?.setAttributes({
          'chunkmill.chunk.outcome': outcome.stopped === undefined ? 'recorded' : 'stopped',
          'chunkmill.items.ran': outcome.ran,
          'chunkmill.items.failed': outcome.failed,
          ...(outcome.stopped === undefined ? {} : { 'chunkmill.chunk.stopped': outcome.stopped }),
        });
        return outcome;
      } catch (error) {
        // Handed back here (shutting down) or by the infrastructure guard around this run (Redis could
        // not serve): no attempt used, so not the span's error either.
        const handedBack = endsInHandBack(error);
        const outcome = handedBack ? 'handed-back' : error instanceof NotHandedBackError ? 'left-to-stall-check' : isLastAttempt(job) ? 'error' : 'retry';
        span?.setAttribute('chunkmill.chunk.outcome', outcome);
        if (handedBack) span?.setAttribute('chunkmill.chunk.hand_back.reason', error instanceof HandBackError ? error.reason : 'redis_unavailable');
        throw error;
      }
    },
    (error) => !endsInHandBack(error) && !(error instanceof NotHandedBackError),
  );
}

async function runChunkAttempt(job: Job<ChunkJobData>, token: string | undefined, deps: ChunkRunDeps, items: ChunkItemRunner): Promise<ChunkOutcome> {
  const { workloadId, start } = job.data;
  const chunkAt = chunkPosition(job.data);
  const indexes = range(start, chunkAt.size);
  // One signal stops everything the chunk runs: its workload cancelled, the process shutting down, or
  // the workload found final at the start. The flags say which, whatever order they came in.
  const chunk = linkedAbort([deps.shutdownSignal]);
  const signal = chunk.signal;
  let cancelled = false;
  let finalStatus: string | undefined;
  const session = deps.sessions.retain(workloadId);
  const unregister = session.onCancel((reason) => {
    cancelled = true;
    chunk.abort(reason);
  });
  const release = (): void => {
    chunk.unlink();
    unregister();
    session.release();
  };

  // A chunk's first run has no earlier outcomes to skip, so its items start at once and the workload is
  // marked running meanwhile (off the critical path: two round trips fewer per chunk). Should the
  // workload turn out to be final already (cancelled in a race with this chunk's start), the items stop.
  // A re-run (retry, or after a stall) first asks which items are still unfinished.
  const firstRun = job.attemptsMade === 0 && (job.attemptsStarted ?? 1) <= 1;
  let unfinished = indexes;
  let begin: Promise<unknown> = Promise.resolve();
  try {
    if (firstRun) {
      // Marked once per workload and process: once this process has seen the workload running (an
      // earlier chunk of it), a later chunk skips the round trip. A cancel meanwhile still stops its
      // items (the cancellation registry remembers recent cancels), and recording refuses final workloads.
      if (!deps.store.isKnownRunning(workloadId)) {
        begin = deps.store.markRunning(workloadId).then((status) => {
          if (!deps.store.isFinal(status)) return;
          finalStatus = status;
          chunk.abort(status);
        });
        // Handled here so that a failure is not an unhandled rejection; it is rethrown by `await begin`.
        begin.catch(() => undefined);
      }
    } else {
      const started = await deps.store.beginChunk(workloadId, chunkAt);
      if (deps.store.isFinal(started.status)) {
        release();
        return { ran: 0, failed: 0, stopped: started.status };
      }
      unfinished = started.unfinished;
    }
  } catch (error) {
    release();
    throw error;
  }
  // Every item of the chunk (hundreds, for fetch) listens to this one signal while it waits or runs.
  setMaxListeners(0, signal);
  const recorder = new ChunkRecorder(deps.store, workloadId, chunkAt);
  // Each write of the attempt's outcomes (its last one, or what finished before a retry or a hand-back).
  const record = (): Promise<unknown> =>
    inChildSpan('chunkmill.record', { 'chunkmill.workload.id': workloadId, 'chunkmill.chunk.index': chunkAt.index, 'chunkmill.items': unfinished.length }, () =>
      recorder.finish(),
    );
  const retryable: ItemOutcome[] = [];
  let failed = 0;
  /** An item failed with something that is not an ItemError (a bug, not the item's fault): the chunk fails. */
  let unexpected: { error: unknown } | undefined;
  const settle: SettleItem = (index, result) => {
    if ('value' in result) {
      recorder.add({ index, ok: true, value: result.value });
      return;
    }
    const { error } = result;
    if (signal.aborted) return;
    if (!(error instanceof ItemError)) {
      unexpected ??= { error };
      chunk.abort(error);
      return;
    }
    failed++;
    const outcome: ItemOutcome = { index, ok: false, code: error.code, message: error.message };
    if (items.isPermanent?.(error)) recorder.add(outcome);
    else retryable.push(outcome);
  };
  const runOne = tracingOn() ? (index: number) => traceItem(items, index, signal) : (index: number) => items.run!(index, signal);
  const runItems = async (): Promise<void> => {
    if (items.runAll) await items.runAll(unfinished, signal, settle);
    else {
      await Promise.all(
        unfinished.map(async (index) => {
          try {
            settle(index, { value: await runOne(index) });
          } catch (error) {
            settle(index, { error });
          }
        }),
      );
    }
  };
  try {
    const task = job.data.type === 'compute' ? { 'chunkmill.task': job.data.task } : {};
    await inChildSpan('chunkmill.items', { 'chunkmill.items': unfinished.length, ...task }, runItems);
    await begin;
    if (unexpected) throw unexpected.error;
  } catch (error) {
    // What did finish is kept all the same: the next run skips it.
    await recorder.finish().catch(() => undefined);
    throw error;
  } finally {
    release();
  }

  if (finalStatus !== undefined || cancelled) {
    // Final already: the store would refuse the outcomes anyway.
    recorder.stop();
    return finalStatus !== undefined ? { ran: 0, failed: 0, stopped: finalStatus } : { ran: unfinished.length, failed: 0, stopped: 'cancelled' };
  }
  if (deps.shutdownSignal.aborted) {
    // Hand the chunk back: it waits in the queue for another worker, its attempt not counted.
    await record();
    try {
      await job.moveToDelayed(Date.now(), token);
    } catch (error) {
      // Redis could not serve: the infrastructure guard tries again. The lock gone: not handed back
      // (nor counted as such), the stalled checker gives the job back (NotHandedBackError).
      if (isHandedBackFailure(error)) throw error;
      throw new NotHandedBackError();
    }
    throw new HandBackError('shutdown');
  }
  if (retryable.length > 0 && !isLastAttempt(job)) {
    await record();
    const first = retryable[0] as Extract<ItemOutcome, { ok: false }>;
    // Its message goes to the job's failedReason and the "chunk attempt failed" log line: URLs as origins only
    // (a redirect's URL may carry a key; the item's own error, with the whole URL, is its owner's, in the results).
    throw new Error(`${retryable.length} of ${unfinished.length} items failed (first: ${first.code}: ${urlsAsOrigins(first.message)})`);
  }
  // On the last attempt the failures are the items' final word.
  for (const outcome of retryable) recorder.add(outcome);
  const recording = deps.recordingOrder.send(record, { workloadId, chunkIndex: chunkAt.index });
  if (recording) await recording;
  return { ran: unfinished.length, failed };
}

/** One item of a `run` runner inside its own `chunkmill.item` span (a child of the chunk's `chunkmill.items`). */
function traceItem(items: ChunkItemRunner, index: number, signal: AbortSignal): Promise<unknown> {
  return inChildSpan('chunkmill.item', { 'chunkmill.item.index': index }, async (span) => {
    if (span && items.describe) span.setAttributes(items.describe(index));
    const value = await items.run!(index, signal);
    if (span && items.describe) span.setAttributes(items.describe(index, value));
    return value;
  });
}
