/**
 * One compute chunk's view of the result cache (core/result-cache.ts): which of its items are answered
 * from the cache (looked up together when the chunk starts), and the fresh results to remember (written
 * together when it ends). A cache that Redis cannot read or write only costs the speed-up: the items run.
 */
import type { Logger } from 'pino';
import { REDIS_NOISE } from '../core/logger';
import type { ResultCache } from '../core/result-cache';

export interface CacheLookupCounts {
  task: string;
  hits: number;
  misses: number;
}

export class CachedItems {
  private readonly fresh: Array<{ input: unknown; value: unknown }> = [];

  private constructor(
    private readonly cache: ResultCache,
    private readonly task: string,
    private readonly inputs: unknown[],
    private readonly cached: Array<string | null>,
    private readonly logger: Logger,
  ) {}

  static async load(cache: ResultCache, task: string, inputs: unknown[], logger: Logger, onLookup?: (counts: CacheLookupCounts) => void): Promise<CachedItems> {
    const cached = await cache.lookup(task, inputs).catch((error: unknown) => {
      logger.warn({ err: error, ...REDIS_NOISE }, 'result cache lookup failed; running the items');
      return inputs.map(() => null);
    });
    const hits = cached.filter((json) => json !== null).length;
    onLookup?.({ task, hits, misses: inputs.length - hits });
    return new CachedItems(cache, task, inputs, cached, logger);
  }

  /** The cached result of the chunk's item at `position`, if there is one. */
  hit(position: number): { value: unknown } | undefined {
    const json = this.cached[position];
    return json === null || json === undefined ? undefined : { value: JSON.parse(json) };
  }

  remember(position: number, value: unknown): void {
    this.fresh.push({ input: this.inputs[position], value });
  }

  async flush(): Promise<void> {
    const entries = this.fresh.splice(0);
    await this.cache.store(this.task, entries).catch((error: unknown) => this.logger.warn({ err: error, ...REDIS_NOISE }, 'result cache write failed'));
  }
}
