/**
 * One attempt of a fetch item follows up to MAX_REDIRECTS redirects itself, so that every hop's URL is
 * checked by the guard (and its address, when a new connection is opened). Credential headers are not
 * sent on to another origin; a redirect to a URL with a user name or password, or back to a URL already
 * visited, ends the attempt.
 */
import { ItemError, ItemErrorCode } from '../../core/errors';
import type { FetchRequestSpec } from '../../core/workload';
import type { AddressGuard } from '../address-guard';
import { exchange, type Answer, type ExchangeContext } from './exchange';

export const MAX_REDIRECTS = 5;
/** Headers that carry credentials: not sent on to another origin by a redirect. */
const CREDENTIAL_HEADERS: ReadonlySet<string> = new Set(['authorization', 'cookie', 'proxy-authorization']);

/** The answer at the end of the redirects from `spec`'s URL. */
export async function followRedirects(guard: AddressGuard, spec: FetchRequestSpec, context: ExchangeContext): Promise<Answer> {
  let url = new URL(spec.url);
  let method = spec.method ?? 'GET';
  let body = spec.body;
  let headers: Record<string, string> = { ...spec.headers };
  const visited = new Set([url.href]);
  for (let hop = 0; ; hop++) {
    guard.checkUrl(url);
    const answer = await exchange(context, url, method, headers, body);
    if (answer.location === undefined) return answer;
    if (hop >= MAX_REDIRECTS) throw new ItemError(ItemErrorCode.FETCH_REDIRECTS, `More than ${MAX_REDIRECTS} redirects (last to ${answer.location})`);
    let next: URL;
    try {
      next = new URL(answer.location, url);
    } catch {
      throw new ItemError(ItemErrorCode.FETCH_REDIRECTS, `Redirect to an invalid URL: ${answer.location.slice(0, 200)}`);
    }
    if (next.username !== '' || next.password !== '')
      throw new ItemError(ItemErrorCode.FETCH_REDIRECTS, 'Redirect to a URL with a user name or password: not followed');
    if (visited.has(next.href)) throw new ItemError(ItemErrorCode.FETCH_REDIRECTS, `Redirect loop: ${next.href} was already visited`);
    visited.add(next.href);
    // As browsers do: 303 (and 301/302 after a POST) turn into a GET without a body.
    if ((answer.status === 303 && method !== 'HEAD') || ((answer.status === 301 || answer.status === 302) && method === 'POST')) {
      method = 'GET';
      body = undefined;
      headers = withoutHeaders(headers, new Set(['content-type']));
    }
    if (next.origin !== url.origin) headers = withoutHeaders(headers, CREDENTIAL_HEADERS);
    url = next;
  }
}

function withoutHeaders(headers: Record<string, string>, names: ReadonlySet<string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !names.has(name.toLowerCase())));
}
