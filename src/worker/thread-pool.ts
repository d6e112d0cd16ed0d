/**
 * Each worker process's compute threads (piscina). CPU work runs here so that the process's event loop
 * stays free for BullMQ's lock renewals, Redis and fetches.
 *
 * Work is handed over in batches of items (see item-batcher.ts), let in only when a thread is free (a
 * semaphore the size of the pool). An item's timeout counts from when its thread starts it, not from
 * when it was queued. A timeout or an abort terminates the thread running it (piscina replaces it); the
 * process lives on.
 */
import path from 'node:path';
import { Piscina } from 'piscina';
import { ItemError, ItemErrorCode } from '../core/errors';
import type { ArrayKernelAnswer, ArrayKernelTask } from './array-kernel-thread';
import type { ThreadAnswer, ThreadTask } from './compute-thread';
import { linkedAbort } from './linked-abort';
import { Semaphore } from './semaphore';

export interface ThreadPoolOptions {
  /**
   * Threads in the pool.
   * @defaultValue cores / WORKER_PROCESSES, at least 1
   */
  threads: number;
  /** Heap limit of each thread; a task that passes it kills only its thread. */
  maxOldGenerationMb: number;
  /**
   * The compiled thread entry point.
   * @defaultValue compute-thread.js next to this file
   */
  filename?: string;
}

export interface ItemRun {
  value: unknown;
  runMs: number;
}

export class ThreadPool {
  private readonly piscina: Piscina<ThreadTask, ThreadAnswer[]>;
  private readonly slots: Semaphore;
  private running = 0;
  private closed = false;

  constructor(readonly options: ThreadPoolOptions) {
    this.slots = new Semaphore(options.threads);
    this.piscina = new Piscina({
      filename: options.filename ?? path.join(__dirname, 'compute-thread.js'),
      minThreads: options.threads,
      maxThreads: options.threads,
      idleTimeout: Number.MAX_SAFE_INTEGER,
      resourceLimits: { maxOldGenerationSizeMb: options.maxOldGenerationMb },
    });
  }

  /**
   * Runs a batch of items of one task on one thread, one after another. Answers one outcome per input:
   * its value, or an ItemError (TASK_ERROR) when the task threw. Throws an ItemError for the whole
   * batch when the thread dies (THREAD_CRASHED) or `timeoutMs` passes (ITEM_TIMEOUT: give a timed item
   * a batch of its own), and the signal's reason when `signal` aborts (cancellation, shutdown).
   */
  async runBatch(task: string, inputs: unknown[], opts: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<Array<ItemRun | ItemError>> {
    const answers = await this.onThread(opts, (startedAt, signal) => this.piscina.run({ task, inputs, startedAt }, { signal }));
    return answers.map((answer) => (answer.ok ? { value: answer.value, runMs: answer.runMs } : new ItemError(ItemErrorCode.TASK_ERROR, answer.message)));
  }

  /**
   * Runs an array kernel over one item's slices in shared memory (see array-kernel-thread.ts): the
   * SharedArrayBuffers go to the thread by reference, and `out` is filled in place. Errors as runBatch's.
   */
  async runArrayKernel(kernel: Omit<ArrayKernelTask, 'startedAt'>, opts: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<ItemRun> {
    const answer = await this.onThread(
      opts,
      (startedAt, signal) =>
        this.piscina.run({ ...kernel, startedAt } as unknown as ThreadTask, { signal, name: 'runArrayKernel' }) as unknown as Promise<ArrayKernelAnswer>,
    );
    if (!answer.ok) throw new ItemError(ItemErrorCode.TASK_ERROR, answer.message);
    return { value: answer.value, runMs: answer.runMs };
  }

  /** Runs `work` once a thread is free, under the item timeout and the caller's signal. */
  private async onThread<T>(
    opts: { signal?: AbortSignal; timeoutMs?: number },
    work: (startedAt: Float64Array | undefined, signal: AbortSignal | null) => Promise<T>,
  ): Promise<T> {
    await this.slots.acquire(opts.signal);
    this.running++;
    const timeout = opts.timeoutMs === undefined ? undefined : new ItemTimeout(opts.timeoutMs);
    // Most batches have one signal (their chunk's) or none; only a timed item needs two linked.
    const linked = timeout && opts.signal ? linkedAbort([opts.signal, timeout.signal]) : undefined;
    try {
      return await work(timeout?.startedAt, linked?.signal ?? opts.signal ?? timeout?.signal ?? null);
    } catch (error) {
      if (opts.signal?.aborted) throw opts.signal.reason;
      if (timeout?.signal.aborted) {
        throw new ItemError(ItemErrorCode.ITEM_TIMEOUT, `The item ran longer than ${opts.timeoutMs} ms; its thread was stopped.`);
      }
      const message = error instanceof Error ? error.message : String(error);
      throw new ItemError(ItemErrorCode.THREAD_CRASHED, `The compute thread died: ${message}`);
    } finally {
      linked?.unlink();
      timeout?.clear();
      this.running--;
      this.slots.release();
    }
  }

  get threads(): number {
    return this.options.threads;
  }

  /** Threads running a batch now. */
  get busy(): number {
    return this.running;
  }

  /** Share of the pool's capacity in use since it started (piscina's own measure), 0..1. */
  get utilization(): number {
    return this.piscina.utilization;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.piscina.destroy();
  }
}

/** While the item has not started on a thread, how often to look whether it has. */
const START_POLL_MS = 20;

/**
 * An item's timeout, counted from the moment a thread starts the item, not from when it was handed to
 * piscina: a thread that is being replaced (after a crash or another timeout) takes a while to start,
 * and that wait is not the item's. The thread writes its start time (epoch ms) into a shared cell.
 */
class ItemTimeout {
  readonly startedAt = new Float64Array(new SharedArrayBuffer(Float64Array.BYTES_PER_ELEMENT));
  private readonly controller = new AbortController();
  private timer: NodeJS.Timeout;

  constructor(private readonly timeoutMs: number) {
    this.timer = setTimeout(() => this.check(), timeoutMs);
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  clear(): void {
    clearTimeout(this.timer);
  }

  private check(): void {
    const started = this.startedAt[0];
    if (started === 0) {
      this.timer = setTimeout(() => this.check(), START_POLL_MS);
      return;
    }
    const left = started + this.timeoutMs - Date.now();
    if (left <= 0) this.controller.abort();
    else this.timer = setTimeout(() => this.check(), left);
  }
}
