/**
 * The result cache of deterministic compute tasks (`"cache": true` on a workload): an item whose task
 * and input were computed before, within CACHE_TTL_SECONDS, is answered from here without running.
 *
 * Key: a SHA-256 digest of the task name and the input's canonical JSON (object keys sorted, so
 * `{"x":1,"y":2}` and `{"y":2,"x":1}` are one entry). Every entry shares the `{cache}` hash tag, so that
 * one MGET reads a whole chunk's items on Redis Cluster too. Values are the JSON the workload records.
 * Only tasks that declare `deterministic: true` may be cached (checked at submit).
 */
import { createHash } from 'node:crypto';
import type { RedisClient } from './redis-connection';
import type { Keys } from './keys';
import { canonicalJson } from './canonical-json';

export class ResultCache {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Keys,
    private readonly ttlSeconds: number,
  ) {}

  private key(task: string, input: unknown): string {
    return this.keys.cachedResult(createHash('sha256').update(task).update('\0').update(canonicalJson(input)).digest('base64url'));
  }

  /** The cached JSON of each input's result, or null where there is none; one round trip. */
  async lookup(task: string, inputs: unknown[]): Promise<Array<string | null>> {
    if (inputs.length === 0) return [];
    return this.redis.mget(...inputs.map((input) => this.key(task, input)));
  }

  /** Remembers computed results (their JSON), each for the cache's TTL; one round trip. */
  async store(task: string, entries: Array<{ input: unknown; value: unknown }>): Promise<void> {
    if (entries.length === 0) return;
    const pipeline = this.redis.pipeline();
    for (const { input, value } of entries) pipeline.set(this.key(task, input), JSON.stringify(value ?? null), 'EX', this.ttlSeconds);
    await pipeline.exec();
  }
}
