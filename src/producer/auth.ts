/**
 * Bearer tokens for `/v1` when tokens are configured (API_TOKENS, ADMIN_TOKENS; see core/tenants.ts),
 * looked up in constant time (core/token-table.ts). An accepted request carries who it is in
 * `res.locals.identity` (its tenant, and whether it is an admin); without tokens every request is the
 * open tenant, which sees everything.
 */
import type { RequestHandler } from 'express';
import { UnauthorizedError } from '../core/errors';
import { OPEN_IDENTITY, type Identity, type TokenEntry } from '../core/tenants';
import { bearerToken, TokenTable } from '../core/token-table';

export function bearerAuth(tokens: TokenEntry[]): RequestHandler {
  const table = new TokenTable(tokens);
  return (req, res, next) => {
    if (table.open) {
      res.locals.identity = OPEN_IDENTITY;
      return next();
    }
    const token = bearerToken(req.get('authorization'));
    if (token === undefined) return next(new UnauthorizedError());
    const entry = table.find(token);
    if (!entry) return next(new UnauthorizedError('The bearer token is not valid.', 'invalid_token'));
    res.locals.identity = { tenant: entry.tenant, admin: entry.admin } satisfies Identity;
    next();
  };
}
