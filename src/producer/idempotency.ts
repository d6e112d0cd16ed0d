/**
 * `Idempotency-Key`: the first submission with a key claims it (SET NX; 1 min, then 24 h once accepted) with a digest of
 * its body and the workload id it will get. A repeat with the same body answers that id and enqueues
 * nothing; a repeat with another body is a 409. Concurrent repeats race on SET NX, so exactly one wins.
 * "The same body" means the same JSON value: the digest is of its canonical JSON, so a client that
 * sends its keys in another order (a re-serialised retry) repeats, it does not conflict.
 * Keys are per tenant: two tenants that happen to use the same key get a workload each.
 */
import { createHash } from 'node:crypto';
import type { RedisClient } from '../core/redis-connection';
import { ConflictError, ValidationError } from '../core/errors';
import type { Keys } from '../core/keys';
import { canonicalJson } from '../core/canonical-json';
import { OPEN_TENANT } from '../core/tenants';

export const IDEMPOTENCY_TTL_SECONDS = 24 * 60 * 60;
/**
 * A claim lives this long until its submission is confirmed: if the submission fails and Redis is too
 * far gone to release the claim, the key frees itself soon instead of blocking retries for a day.
 */
export const PENDING_CLAIM_TTL_SECONDS = 60;
export const MAX_IDEMPOTENCY_KEY_LENGTH = 255;

export type Claim = { kind: 'claimed' } | { kind: 'repeat'; workloadId: string };

const digest = (text: string): string => createHash('sha256').update(text).digest('hex');

export class IdempotencyKeys {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Keys,
  ) {}

  static check(key: string): void {
    if (key.length === 0 || key.length > MAX_IDEMPOTENCY_KEY_LENGTH) {
      throw new ValidationError(`Idempotency-Key must be 1 to ${MAX_IDEMPOTENCY_KEY_LENGTH} characters long.`);
    }
  }

  /** Claims `key` for a new workload `workloadId`, or reports the workload an earlier claim made. */
  async claim(tenant: string, key: string, body: unknown, workloadId: string): Promise<Claim> {
    const redisKey = this.redisKey(tenant, key);
    const bodyDigest = digest(canonicalJson(body));
    const claimed = await this.redis.set(redisKey, `${bodyDigest}:${workloadId}`, 'EX', PENDING_CLAIM_TTL_SECONDS, 'NX');
    if (claimed === 'OK') return { kind: 'claimed' };
    const existing = await this.redis.get(redisKey);
    if (existing === null) return this.claim(tenant, key, body, workloadId); // expired in between: claim again
    const [existingDigest, existingId] = existing.split(':');
    // A claim written before digests were canonical (kept 24 h) holds the digest of the body as sent.
    if (existingDigest !== bodyDigest && existingDigest !== digest(JSON.stringify(body))) {
      throw new ConflictError('IDEMPOTENCY_KEY_REUSED', 'This Idempotency-Key was already used with a different body.');
    }
    return { kind: 'repeat', workloadId: existingId };
  }

  /** Keeps a claim for 24 h once its workload was accepted. */
  async confirm(tenant: string, key: string): Promise<void> {
    await this.redis.expire(this.redisKey(tenant, key), IDEMPOTENCY_TTL_SECONDS);
  }

  /** Frees a claim whose submission failed, so that the client's retry with the same key can succeed. */
  async release(tenant: string, key: string): Promise<void> {
    await this.redis.del(this.redisKey(tenant, key));
  }

  /** The open tenant keeps the key's digest alone; any other tenant's digest covers its name too. */
  private redisKey(tenant: string, key: string): string {
    return this.keys.idempotency(digest(tenant === OPEN_TENANT ? key : `${tenant}\n${key}`));
  }
}
