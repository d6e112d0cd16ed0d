/**
 * A per-tenant rate limit for `/v1` when tokens are configured: a fixed one-minute window per tenant
 * (every token of a tenant counts together), counted in Redis so that every producer replica shares it,
 * under the tenant's id (a name, or a digest: never a token). Past the limit a request gets 429
 * RATE_LIMITED with `Retry-After`.
 *
 * It fails open: when Redis cannot count (down, or full), the request goes on, and whatever it needs
 * from Redis answers for itself (a 503 when Redis is down). Without tokens (the open tenant) there is no limit.
 */
import type { RequestHandler } from 'express';
import type { RedisClient } from '../core/redis-connection';
import { RateLimitedError } from '../core/errors';
import type { Keys } from '../core/keys';
import { identityOf, OPEN_TENANT } from '../core/tenants';

export const RATE_LIMIT_WINDOW_MS = 60_000;

export function tenantRateLimit(redis: RedisClient, keys: Keys, perMinute: number): RequestHandler {
  return async (_req, res, next) => {
    const { tenant } = identityOf(res);
    if (tenant === OPEN_TENANT || perMinute === 0) return next();
    const now = Date.now();
    const window = Math.floor(now / RATE_LIMIT_WINDOW_MS);
    const key = keys.rateLimit(tenant, window);
    let count: number;
    try {
      const replies = await redis
        .multi()
        .incr(key)
        .pexpire(key, RATE_LIMIT_WINDOW_MS * 2)
        .exec();
      count = Number(replies?.[0]?.[1] ?? 0);
    } catch {
      return next();
    }
    if (count <= perMinute) return next();
    const retryAfterSeconds = Math.max(1, Math.ceil(((window + 1) * RATE_LIMIT_WINDOW_MS - now) / 1000));
    next(new RateLimitedError(retryAfterSeconds));
  };
}
