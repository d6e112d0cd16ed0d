/**
 * Browser sign-ins to the dashboard. Signing in with a token makes a session: a random 256-bit id in an
 * HttpOnly, SameSite=Strict cookie, and in Redis (under a digest of that id, so that reading Redis gives
 * no cookie) the SHA-256 digest of the token it was made with, never the token. Each request looks the
 * digest up among the tokens configured now, so a token removed from the configuration signs its
 * sessions out at the dashboard's next start. Sessions live in Redis so that every dashboard replica
 * knows them; they expire after DASHBOARD_SESSION_TTL_SECONDS.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Keys } from '../core/keys';
import type { RedisClient } from '../core/redis-connection';
import { tokenDigest } from '../core/tenants';

export const SESSION_COOKIE = 'chunkmill_session';
/** 32 random bytes, base64url: what a session id looks like (anything else is not looked up). */
const SESSION_ID = /^[A-Za-z0-9_-]{43}$/;

const digest = (id: string): string => createHash('sha256').update(id).digest('hex');

export class DashboardSessions {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Keys,
    readonly ttlSeconds: number,
  ) {}

  /** A new session for `token` (already checked); answers the cookie's value. */
  async create(token: string): Promise<string> {
    const id = randomBytes(32).toString('base64url');
    await this.redis.set(this.keys.dashboardSession(digest(id)), JSON.stringify({ tokenDigest: tokenDigest(token).toString('hex') }), 'EX', this.ttlSeconds);
    return id;
  }

  /** The digest of the token a session was made with; undefined for no session (or an expired one). */
  async tokenDigest(id: string): Promise<Buffer | undefined> {
    if (!SESSION_ID.test(id)) return undefined;
    const stored = await this.redis.get(this.keys.dashboardSession(digest(id)));
    if (stored === null) return undefined;
    return Buffer.from((JSON.parse(stored) as { tokenDigest: string }).tokenDigest, 'hex');
  }

  async remove(id: string): Promise<void> {
    if (SESSION_ID.test(id)) await this.redis.del(this.keys.dashboardSession(digest(id)));
  }
}

/** One cookie's value from a Cookie header. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) return rest.join('=');
  }
  return undefined;
}
