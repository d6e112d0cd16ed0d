/**
 * Follows the resident memory of chunkmill's roles over a long run: every `intervalMs` it reads VmRSS
 * from /proc/<pid>/status for each named series, and at the end compares the median of the first
 * window with the median of the last (medians, so that one garbage collection does not decide).
 * A series names the processes it covers *now*, since a re-forked worker process gets a new pid; a
 * sample of a series of several processes is their mean.
 */
import fs from 'node:fs';

export interface RssSeries {
  name: string;
  /** The processes this series covers at the moment of a sample. */
  pids: () => number[];
}

export interface RssGrowth {
  name: string;
  samples: number;
  firstBytes: number;
  lastBytes: number;
  peakBytes: number;
  growthBytes: number;
  growthPercent: number;
}

/** A process's resident set (VmRSS) in bytes; undefined once it is gone. */
export function rssBytes(pid: number): number | undefined {
  try {
    const match = /^VmRSS:\s+(\d+) kB$/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

export class RssSampler {
  private readonly samples = new Map<string, Array<{ at: number; bytes: number }>>();
  private timer?: NodeJS.Timeout;
  private startedAt = 0;
  private stoppedAt = 0;

  constructor(
    private readonly series: RssSeries[],
    private readonly intervalMs = 2_000,
  ) {
    for (const { name } of series) this.samples.set(name, []);
  }

  start(): void {
    this.startedAt = Date.now();
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
  }

  /** Stops sampling; idempotent. */
  stop(): void {
    if (this.timer === undefined) return;
    clearInterval(this.timer);
    this.timer = undefined;
    this.stoppedAt = Date.now();
  }

  /** Each series: the median of its first `windowMs` of samples against the median of its last `windowMs`. */
  growth(windowMs: number): RssGrowth[] {
    const end = this.stoppedAt || Date.now();
    return this.series.map(({ name }) => {
      const all = this.samples.get(name)!;
      const first = all.filter((sample) => sample.at < this.startedAt + windowMs).map((sample) => sample.bytes);
      const last = all.filter((sample) => sample.at >= end - windowMs).map((sample) => sample.bytes);
      const firstBytes = first.length > 0 ? median(first) : 0;
      const lastBytes = last.length > 0 ? median(last) : 0;
      return {
        name,
        samples: all.length,
        firstBytes,
        lastBytes,
        peakBytes: Math.max(0, ...all.map((sample) => sample.bytes)),
        growthBytes: lastBytes - firstBytes,
        growthPercent: firstBytes > 0 ? ((lastBytes - firstBytes) / firstBytes) * 100 : 0,
      };
    });
  }

  private sample(): void {
    const at = Date.now();
    for (const { name, pids } of this.series) {
      const sizes = pids()
        .map(rssBytes)
        .filter((bytes): bytes is number => bytes !== undefined);
      if (sizes.length > 0) this.samples.get(name)!.push({ at, bytes: sizes.reduce((sum, bytes) => sum + bytes, 0) / sizes.length });
    }
  }
}
