/**
 * The body of a fetch answer: read under the item's size cap, then turned into the item's value (parsed
 * JSON, a value picked from it by `extract`, or the text).
 */
import type { Dispatcher } from 'undici';
import { ItemError, ItemErrorCode } from '../../core/errors';
import { extractValue } from '../../core/extract-path';
import { parseJsonExact } from '../../core/json-numbers';

/**
 * The body, read as it streams in and dropped (connection included) as soon as it passes the cap. Read
 * through 'data' events rather than an async iterator: most bodies are one part, and the iterator's
 * machinery cost more than the read itself at thousands of responses a second.
 */
export function readCapped(response: Dispatcher.ResponseData, maxBytes: number): Promise<Buffer> {
  const declared = Number(response.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) {
    response.body.destroy();
    return Promise.reject(new ItemError(ItemErrorCode.FETCH_TOO_LARGE, `The body is ${declared} bytes, over the ${maxBytes}-byte cap`));
  }
  const body = response.body;
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let bytes = 0;
    body.on('data', (part: Buffer) => {
      bytes += part.length;
      if (bytes > maxBytes) {
        body.destroy();
        reject(new ItemError(ItemErrorCode.FETCH_TOO_LARGE, `The body passed the ${maxBytes}-byte cap`));
        return;
      }
      parts.push(part);
    });
    body.once('end', () => resolve(parts.length === 1 ? parts[0] : Buffer.concat(parts, bytes)));
    body.once('error', reject);
  });
}

/**
 * A JSON body (by its content type) is parsed, then `extract` picks a value from it (null when the path
 * is missing or the body is not JSON). Without `extract`, the parsed JSON, or the text as is.
 */
export function bodyValue(content: Buffer, contentType: string | string[] | undefined, extract: string | undefined): unknown {
  const type = (Array.isArray(contentType) ? contentType[0] : (contentType ?? '')).toLowerCase();
  const text = content.toString('utf8');
  if (/[/+]json\b/.test(type)) {
    try {
      const parsed = parseJsonExact(text);
      return extract === undefined ? parsed : extractValue(parsed, extract);
    } catch {
      // Not JSON after all: fall through.
    }
  }
  return extract === undefined ? text : null;
}
