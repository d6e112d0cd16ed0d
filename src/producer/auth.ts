/**
 * Bearer tokens for `/v1` when `API_TOKENS` is set. Tokens are compared as SHA-256 digests with
 * timingSafeEqual against every configured token (no early exit), so timing tells nothing about them.
 * An accepted request carries its token's digest in `res.locals.tokenDigest` (for the rate limit).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { UnauthorizedError } from '../core/errors';

const digest = (token: string): Buffer => createHash('sha256').update(token).digest();

export function bearerAuth(tokens: string[]): RequestHandler {
  const allowed = tokens.map(digest);
  return (req, res, next) => {
    if (allowed.length === 0) return next();
    const match = /^Bearer\s+(\S+)\s*$/i.exec(req.get('authorization') ?? '');
    if (!match) return next(new UnauthorizedError());
    const presented = digest(match[1]);
    let ok = false;
    for (const candidate of allowed) ok = timingSafeEqual(candidate, presented) || ok;
    if (!ok) return next(new UnauthorizedError('The bearer token is not valid.'));
    res.locals.tokenDigest = presented.toString('hex');
    next();
  };
}
