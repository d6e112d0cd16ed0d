/**
 * The infrastructure guard and the chunk's span, without Redis: a chunk whose recording Redis refuses
 * (OOM) is handed back (a HandBackError, no attempt used) and its `chunkmill.chunk` span says
 * handed-back, not an error; an outage tells one warning per few seconds, not one per chunk; a hand-back
 * that finds the lock gone is not one (BullMQ leaves the job to the stalled checker).
 */
import { SpanKind } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { DelayedError, type Job } from 'bullmq';
import pino from 'pino';
import { currentTraceCarrier, inRootSpan, startTracing, stopTracing } from '../../src/core/tracing';
import type { WorkloadStore } from '../../src/core/workload-store';
import type { ChunkJobData } from '../../src/core/workload';
import { runChunk, type ChunkRunDeps } from '../../src/worker/chunk-run';
import { HandBackError, NotHandedBackError } from '../../src/worker/hand-back';
import { InfrastructureGuard } from '../../src/worker/infrastructure-guard';
import type { RecordingOrder } from '../../src/worker/recording-order';
import type { WorkloadSessions } from '../../src/worker/workload-session';

const OOM = 'OOM command not allowed when used memory > maxmemory.';

/** A logger whose lines land in `lines`. */
function capture(): { logger: pino.Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'trace' }, { write: (line: string) => lines.push(JSON.parse(line)) });
  return { logger, lines };
}

function fakeJob(data: Partial<ChunkJobData> = {}, moveToDelayed: () => Promise<unknown> = async () => undefined): Job<ChunkJobData> {
  return {
    id: 'w1-0',
    queueName: 'compute',
    attemptsMade: 0,
    attemptsStarted: 1,
    opts: { attempts: 3 },
    data: { workloadId: 'w1', type: 'compute', chunkIndex: 0, start: 0, task: 'sumSquares', inputs: [1, 2], ...data },
    moveToDelayed: jest.fn(moveToDelayed),
  } as unknown as Job<ChunkJobData>;
}

const failing = (message: string) => async (): Promise<unknown> => {
  throw new Error(message);
};

describe('infrastructure guard', () => {
  it('hands a chunk back on a Redis failure, one warning for many', async () => {
    const { logger, lines } = capture();
    const guard = new InfrastructureGuard(logger, { handBackForMs: 1000, shutdownSignal: new AbortController().signal, firstDelayMs: 1 });
    const processor = guard.wrap<ChunkJobData, unknown>(failing(OOM));
    for (let chunk = 0; chunk < 5; chunk++) {
      const job = fakeJob({ chunkIndex: chunk });
      const error = await processor(job, 'token').catch((thrown: unknown) => thrown);
      expect(error).toBeInstanceOf(HandBackError);
      expect((error as HandBackError).reason).toBe('redis_unavailable');
      expect(job.moveToDelayed).toHaveBeenCalledTimes(1);
    }
    expect(lines.filter((line) => line.level === 40)).toEqual([
      expect.objectContaining({ err: OOM, msg: 'Redis failed chunks; handing them back to the queue without using attempts' }),
    ]);
  });

  it('leaves other errors alone', async () => {
    const { logger, lines } = capture();
    const guard = new InfrastructureGuard(logger, { handBackForMs: 1000, shutdownSignal: new AbortController().signal });
    const job = fakeJob();
    await expect(guard.wrap<ChunkJobData, unknown>(failing('2 of 2 items failed'))(job, 'token')).rejects.toThrow('2 of 2 items failed');
    expect(job.moveToDelayed).not.toHaveBeenCalled();
    expect(lines).toEqual([]);
  });

  it('does not call it a hand-back when the lock is gone: BullMQ leaves the job to the stalled checker', async () => {
    const { logger } = capture();
    const guard = new InfrastructureGuard(logger, { handBackForMs: 1000, shutdownSignal: new AbortController().signal });
    const job = fakeJob({}, failing('Missing lock for job w1-0. moveToDelayed'));
    const error = await guard
      .wrap<ChunkJobData, unknown>(failing(OOM))(job, 'token')
      .catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(NotHandedBackError);
    // Not a hand-back for the metrics (instanceof), but what BullMQ leaves alone (its name): no moveToFailed.
    expect(error).not.toBeInstanceOf(DelayedError);
    expect((error as Error).name).toBe('DelayedError');
  });
});

describe("a handed-back chunk's span", () => {
  const exporter = new InMemorySpanExporter();
  beforeAll(() => {
    expect(startTracing('worker', { spanProcessors: [new SimpleSpanProcessor(exporter)] })).toBe(true);
  });
  afterAll(() => stopTracing());

  it('says handed-back, not an error, when Redis fails the recording', async () => {
    const trace = await inRootSpan('chunkmill.submit', SpanKind.PRODUCER, {}, async () => currentTraceCarrier());
    expect(trace).toBeDefined();
    const store = {
      isKnownRunning: () => true,
      isFinal: () => false,
      recordsInOrderWithCompletion: false,
      recordChunk: failing(OOM),
    } as unknown as WorkloadStore;
    const deps: ChunkRunDeps = {
      store,
      recordingOrder: { send: (record: () => Promise<unknown>) => record() } as unknown as RecordingOrder,
      sessions: { retain: () => ({ onCancel: () => () => undefined, release: () => undefined }) } as unknown as WorkloadSessions,
      shutdownSignal: new AbortController().signal,
    };
    const guard = new InfrastructureGuard(capture().logger, { handBackForMs: 1000, shutdownSignal: new AbortController().signal });
    const job = fakeJob({ trace });
    const processor = guard.wrap<ChunkJobData, unknown>((chunkJob, token) => runChunk(chunkJob, token, deps, { run: async (index) => index * 2 }));
    await expect(processor(job, 'token')).rejects.toBeInstanceOf(HandBackError);

    const [chunk] = exporter.getFinishedSpans().filter((span) => span.name === 'chunkmill.chunk');
    expect(chunk.attributes).toMatchObject({ 'chunkmill.chunk.outcome': 'handed-back', 'chunkmill.chunk.hand_back.reason': 'redis_unavailable' });
    expect(chunk.status.code).not.toBe(2);
    expect(chunk.events).toEqual([]);
  });
});
