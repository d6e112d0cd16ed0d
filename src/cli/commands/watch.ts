/**
 * `chunkmill watch <id>`: follows a workload to its end. On a terminal, a cli-progress bar with items/s
 * and ETA; otherwise (a pipe, a CI log) a plain line at most every `--interval` ms and one at the end.
 * Exits 0 when the workload completed, 1 when it failed or was cancelled.
 */
import { Presets, SingleBar } from 'cli-progress';
import type { ProgressData } from '@chunkmill/client';
import type { CliContext } from '../context';
import { EXIT, type ExitCode } from '../exit-codes';

export interface WatchOptions {
  /** Least ms between two plain progress lines. */
  intervalMs: number;
}

/** Items per second since watching began, and the seconds left at that rate. */
class Rate {
  private readonly startedAt = Date.now();
  private startCount: number | undefined;

  update(progress: ProgressData): { perSecond: number; etaSeconds: number | undefined } {
    const finished = progress.completed + progress.failed;
    this.startCount ??= finished;
    const seconds = (Date.now() - this.startedAt) / 1000;
    const perSecond = seconds > 0 ? (finished - this.startCount) / seconds : 0;
    const etaSeconds = perSecond > 0 ? (progress.total - finished) / perSecond : undefined;
    return { perSecond, etaSeconds };
  }
}

export function formatSeconds(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds)) return '?';
  if (seconds < 60) return `${Math.ceil(seconds)}s`;
  const minutes = Math.floor(seconds / 60);
  return minutes < 60 ? `${minutes}m${Math.round(seconds % 60)}s` : `${Math.floor(minutes / 60)}h${minutes % 60}m`;
}

export async function watchWorkload(context: CliContext, id: string, options: WatchOptions): Promise<ExitCode> {
  const tty = process.stdout.isTTY === true;
  const rate = new Rate();
  const bar = tty
    ? new SingleBar(
        {
          // `eta` is cli-progress's own token (bare seconds from its own buffer); ours is `remaining`.
          format: ' {bar} {percentage}% | {value}/{total} items | {failed} failed | {rate} items/s | ETA {remaining}',
          hideCursor: true,
          stream: process.stdout,
          etaBuffer: 50,
        },
        Presets.shades_classic,
      )
    : undefined;
  let lastLineAt = 0;
  let last: ProgressData | undefined;
  const show = (progress: ProgressData, final = false): void => {
    last = progress;
    const finished = progress.completed + progress.failed;
    const { perSecond, etaSeconds } = rate.update(progress);
    if (bar) {
      const payload = { failed: progress.failed, rate: perSecond.toFixed(1), remaining: formatSeconds(final ? 0 : etaSeconds) };
      if (!lastLineAt) bar.start(progress.total, finished, payload);
      else bar.update(finished, payload);
      lastLineAt = Date.now();
      return;
    }
    if (!final && Date.now() - lastLineAt < options.intervalMs) return;
    lastLineAt = Date.now();
    context.print(
      `${progress.status} ${finished}/${progress.total} items (${progress.failed} failed), ` +
        `${perSecond.toFixed(1)} items/s, ETA ${formatSeconds(final ? 0 : etaSeconds)}`,
    );
  };
  try {
    for await (const event of context.pool.events(id, { signal: context.signal })) {
      // A progress event that already says final is followed by `done` with the same counts: shown once.
      if (event.type === 'progress' && ['queued', 'running'].includes(event.data.status)) show(event.data);
      if (event.type === 'done') show(event.data, true);
    }
  } finally {
    bar?.stop();
  }
  const final = last ?? (await context.pool.status(id, { signal: context.signal }));
  const durationMs = (await context.pool.status(id, { signal: context.signal }).catch(() => undefined))?.durationMs;
  context.print(
    `${final.status}: ${final.completed} completed, ${final.failed} failed of ${final.total}` +
      (durationMs == null ? '' : ` in ${(durationMs / 1000).toFixed(1)} s`),
  );
  return final.status === 'completed' ? EXIT.OK : EXIT.WORKLOAD_FAILED;
}
