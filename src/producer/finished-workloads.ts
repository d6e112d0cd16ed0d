/**
 * The producer's one subscription to the finished channel (keys.ts: finishedChannel), on which every
 * workload's final status is announced. Long-polls (`results?wait=`) wait here: no SUBSCRIBE round trip
 * per request, and a wake-up the moment the last item is recorded (no polling interval in the path).
 *
 * A wait is registered (`watch`) before the workload's status is read, so a finish in between is never
 * missed. Messages published while the subscription was down (Redis restarting) are lost, so when the
 * connection is ready again every waiter checks its workload's status once more.
 */
import type { RedisSubscriber } from '../core/redis-subscriber';
import { COMMAND_TIMED_OUT } from '../core/redis-connection';
import { timeLimit } from '../core/time-limit';
import { FINAL_STATUSES, type WorkloadStatus } from '../core/workload';

/**
 * How often a waiter checks its workload's status anyway. Pub/sub is at most once: an announcement made
 * while the subscription's node is stalled or being replaced (a cluster failover picks another node for
 * it) is lost without a reconnect event to tell. This bounds how late such a long-poll answers; an
 * announcement that arrives still answers at once.
 */
const RECHECK_MS = 5_000;

export interface FinishWatch {
  /**
   * Resolves once the workload is announced final, after `waitMs`, or when `signal` aborts. `isFinal`
   * is asked again after a reconnect.
   */
  finished(waitMs: number, isFinal: () => Promise<boolean>, signal?: AbortSignal): Promise<void>;
  close(): void;
}

/** Wakes one waiter: `announced` when its workload was announced final, false to make it check. */
type Wake = (announced: boolean) => void;

export class FinishedWorkloads {
  private readonly waiters = new Map<string, Set<Wake>>();
  private subscription?: Promise<void>;
  private stopListening?: () => void;
  private readonly stopCatchingUp: () => void;

  constructor(
    private readonly subscriber: RedisSubscriber,
    private readonly channel: string,
  ) {
    // A failure here (Redis away at start) is retried by the first request that needs the subscription.
    this.subscribe().catch(() => undefined);
    this.stopCatchingUp = subscriber.onResubscribed(() => {
      for (const wakes of this.waiters.values()) for (const wake of wakes) wake(false);
    });
  }

  /**
   * Resolves once the subscription is confirmed (at once when it is); subscribes again after a failed
   * try. With `timeoutMs`, fails ("Command timed out") when it is not confirmed in time; the subscription
   * itself goes on for the next caller.
   */
  ready(timeoutMs?: number): Promise<void> {
    const subscription = this.subscribe();
    if (timeoutMs === undefined) return subscription;
    return timeLimit(
      subscription.then(() => true),
      timeoutMs,
      false,
    ).then((confirmed) => {
      if (!confirmed) throw new Error(COMMAND_TIMED_OUT);
    });
  }

  private subscribe(): Promise<void> {
    this.subscription ??= this.subscriber
      .listen(this.channel, (message) => {
        const { id, status } = JSON.parse(message) as { id: string; status: WorkloadStatus };
        if (FINAL_STATUSES.has(status)) for (const wake of this.waiters.get(id) ?? []) wake(true);
      })
      .then(
        (stop) => {
          this.stopListening = stop;
        },
        (error: unknown) => {
          this.subscription = undefined;
          throw error;
        },
      );
    return this.subscription;
  }

  /** Starts watching `id`; call before reading its status. */
  watch(id: string): FinishWatch {
    // Wake-ups that came before `finished` was called are kept, not lost.
    const pending: boolean[] = [];
    let wakeUp: (() => void) | undefined;
    const wake: Wake = (announced) => {
      pending.push(announced);
      wakeUp?.();
    };
    let set = this.waiters.get(id);
    if (!set) this.waiters.set(id, (set = new Set()));
    set.add(wake);
    return {
      close: () => {
        const current = this.waiters.get(id);
        if (current?.delete(wake) && current.size === 0) this.waiters.delete(id);
      },
      finished: async (waitMs, isFinal, signal) => {
        const deadline = Date.now() + waitMs;
        for (;;) {
          if (pending.length === 0) {
            const left = deadline - Date.now();
            if (left <= 0 || signal?.aborted) return;
            let recheck = false;
            await new Promise<void>((resolve) => {
              const done = (): void => {
                clearTimeout(timer);
                signal?.removeEventListener('abort', done);
                wakeUp = undefined;
                resolve();
              };
              const timer = setTimeout(
                () => {
                  recheck = left > RECHECK_MS;
                  done();
                },
                Math.min(left, RECHECK_MS),
              );
              signal?.addEventListener('abort', done, { once: true });
              wakeUp = done;
            });
            if (pending.length === 0 && !recheck) return;
            if (pending.length === 0) {
              // A failed check (Redis unavailable for a moment) is not an answer: keep waiting.
              if (await isFinal().catch(() => false)) return;
              continue;
            }
          }
          if (pending.splice(0).includes(true)) return;
          if (await isFinal()) return;
        }
      },
    };
  }

  close(): void {
    this.stopCatchingUp();
    this.stopListening?.();
    for (const wakes of this.waiters.values()) for (const wake of wakes) wake(true);
  }
}
