/**
 * Tenants: who a bearer token speaks for. Each configured token belongs to one tenant; a workload,
 * a named array, an Idempotency-Key and a rate-limit counter belong to the tenant that made them.
 *
 * A token list (API_TOKENS, ADMIN_TOKENS and their *_FILE forms) holds entries separated by commas or
 * new lines; in a file, a line starting with `#` is a comment. An entry is `name:token` (the tenant is `name`; several
 * tokens may share a name, for rotation) or a bare token (its own tenant, named by a digest of the token:
 * `t-` and 24 hex digits, so that Redis and logs never hold the token itself). Admin tokens see and act
 * on every tenant's workloads. Without any token there is one open tenant (`OPEN_TENANT`) that sees all:
 * for a trusted network only.
 */
import { createHash } from 'node:crypto';

/** A tenant name: it becomes part of Redis keys, so the same alphabet as the key prefix. */
export const TENANT_NAME = /^[A-Za-z0-9_.-]{1,64}$/;
/** The tenant of everything when no token is configured (and of workloads made before tenants existed). */
export const OPEN_TENANT = '';

export interface TokenEntry {
  tenant: string;
  token: string;
  admin: boolean;
}

/** Who a request is: its tenant, and whether it may see every tenant's work. */
export interface Identity {
  tenant: string;
  admin: boolean;
}

/** The identity of every request when no token is configured. */
export const OPEN_IDENTITY: Identity = Object.freeze({ tenant: OPEN_TENANT, admin: true });

export const tokenDigest = (token: string): Buffer => createHash('sha256').update(token).digest();

/** The tenant of a bare token: a digest of it, never the token. */
export const digestTenant = (token: string): string => `t-${tokenDigest(token).toString('hex').slice(0, 24)}`;

/**
 * Parses one token list; answers the entries, or throws an Error whose message says which entry is wrong
 * (by position, never by content: the content is a secret).
 */
export function parseTokenList(text: string, admin: boolean): TokenEntry[] {
  const entries: TokenEntry[] = [];
  const pieces = text
    .split('\n')
    .filter((line) => !line.trimStart().startsWith('#'))
    .flatMap((line) => line.split(','))
    .map((piece) => piece.trim())
    .filter((piece) => piece.length > 0);
  pieces.forEach((piece, position) => {
    const named = /^([^:\s]+):(\S+)$/.exec(piece);
    if (named) {
      if (!TENANT_NAME.test(named[1])) throw new Error(`entry ${position + 1}: a tenant name is letters, digits, "_", "." and "-" (1-64 characters)`);
      entries.push({ tenant: named[1], token: named[2], admin });
      return;
    }
    if (/\s/.test(piece)) throw new Error(`entry ${position + 1}: a token has no spaces`);
    entries.push({ tenant: digestTenant(piece), token: piece, admin });
  });
  return entries;
}

/** Throws when one token is given twice with different meanings (two tenants, or tenant and admin). */
export function checkTokenEntries(entries: TokenEntry[]): void {
  const seen = new Map<string, TokenEntry>();
  for (const entry of entries) {
    const earlier = seen.get(entry.token);
    if (earlier && (earlier.tenant !== entry.tenant || earlier.admin !== entry.admin)) {
      throw new Error(
        `the token of tenant "${entry.tenant}" is also the token of tenant "${earlier.tenant}"${earlier.admin !== entry.admin ? ' (once as admin)' : ''}`,
      );
    }
    seen.set(entry.token, entry);
  }
}

/** Who a request is, as the role's auth middleware found out (`res.locals.identity`); the open tenant by default. */
export function identityOf(res: { locals: Record<string, unknown> }): Identity {
  return (res.locals.identity as Identity | undefined) ?? OPEN_IDENTITY;
}

/** True when `identity` may see a workload (or anything else) that belongs to `owner`. */
export function canSee(identity: Identity, owner: string | undefined): boolean {
  return identity.admin || (owner ?? OPEN_TENANT) === identity.tenant;
}

/**
 * The name a tenant's array has in Redis: the open tenant's arrays keep their bare names, every other
 * tenant's live under its name, so two tenants' `x` are two arrays.
 */
export function tenantArrayName(tenant: string, name: string): string {
  return tenant === OPEN_TENANT ? name : `${tenant}/${name}`;
}
