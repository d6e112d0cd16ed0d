/**
 * The configured tokens, looked up without telling anything by timing: a presented token's SHA-256
 * digest is compared with timingSafeEqual against every configured one (no early exit). Shared by the
 * producer's bearer auth and the dashboard's (bearer and sign-in sessions).
 */
import { timingSafeEqual } from 'node:crypto';
import { tokenDigest, type TokenEntry } from './tenants';

/** The token of an `Authorization: Bearer <token>` header; undefined when there is none (or another scheme). */
export function bearerToken(header: string | undefined): string | undefined {
  return /^Bearer\s+(\S+)\s*$/i.exec(header ?? '')?.[1];
}

export class TokenTable {
  private readonly entries: Array<{ digest: Buffer; entry: TokenEntry }>;

  constructor(entries: TokenEntry[]) {
    this.entries = entries.map((entry) => ({ digest: tokenDigest(entry.token), entry }));
  }

  /** True when no token is configured: one open tenant. */
  get open(): boolean {
    return this.entries.length === 0;
  }

  /** The entry of a presented token; undefined if it is none of them. */
  find(token: string): TokenEntry | undefined {
    return this.findDigest(tokenDigest(token));
  }

  /** The entry whose token has this SHA-256 digest (what a dashboard session keeps instead of the token). */
  findDigest(digest: Buffer): TokenEntry | undefined {
    if (digest.length !== 32) return undefined;
    let found: TokenEntry | undefined;
    for (const candidate of this.entries) {
      if (timingSafeEqual(candidate.digest, digest)) found = candidate.entry;
    }
    return found;
  }
}
