/**
 * Bearer tokens for `/v1` when tokens are configured (API_TOKENS, ADMIN_TOKENS; see core/tenants.ts).
 * Tokens are compared as SHA-256 digests with timingSafeEqual against every configured token (no early
 * exit), so timing tells nothing about them. An accepted request carries who it is in
 * `res.locals.identity` (its tenant, and whether it is an admin); without tokens every request is the
 * open tenant, which sees everything.
 */
import { timingSafeEqual } from 'node:crypto';
import type { RequestHandler, Response } from 'express';
import { UnauthorizedError } from '../core/errors';
import { OPEN_IDENTITY, tokenDigest, type Identity, type TokenEntry } from '../core/tenants';

/** The entry whose token is `presented`, checked against all of them in constant time; undefined if none. */
export function findToken(entries: Array<{ digest: Buffer; entry: TokenEntry }>, presented: string): TokenEntry | undefined {
  const digest = tokenDigest(presented);
  let found: TokenEntry | undefined;
  for (const candidate of entries) {
    if (timingSafeEqual(candidate.digest, digest)) found = candidate.entry;
  }
  return found;
}

/** The token of an `Authorization: Bearer <token>` header; undefined when there is none (or another scheme). */
export function bearerToken(header: string | undefined): string | undefined {
  return /^Bearer\s+(\S+)\s*$/i.exec(header ?? '')?.[1];
}

export function digestEntries(entries: TokenEntry[]): Array<{ digest: Buffer; entry: TokenEntry }> {
  return entries.map((entry) => ({ digest: tokenDigest(entry.token), entry }));
}

export function bearerAuth(tokens: TokenEntry[]): RequestHandler {
  const allowed = digestEntries(tokens);
  return (req, res, next) => {
    if (allowed.length === 0) {
      res.locals.identity = OPEN_IDENTITY;
      return next();
    }
    const token = bearerToken(req.get('authorization'));
    if (token === undefined) return next(new UnauthorizedError());
    const entry = findToken(allowed, token);
    if (!entry) return next(new UnauthorizedError('The bearer token is not valid.', 'invalid_token'));
    res.locals.identity = { tenant: entry.tenant, admin: entry.admin } satisfies Identity;
    next();
  };
}

/** Who the request is, as bearerAuth found out. */
export function identityOf(res: Response): Identity {
  return (res.locals.identity as Identity | undefined) ?? OPEN_IDENTITY;
}
