/**
 * Results travel as JSON, which has no BigInt and silently rounds integers beyond 2^53. A BigInt
 * becomes a plain number when it is safe and a decimal string when it is not, so nothing is ever rounded.
 */
export function bigintToJson(value: bigint): number | string {
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value.toString();
}

/** Replaces every BigInt inside `value` (arrays and plain objects included) by its JSON-safe form. */
export function toJsonSafe(value: unknown): unknown {
  if (typeof value === 'bigint') return bigintToJson(value);
  if (Array.isArray(value)) return value.map(toJsonSafe);
  if (value !== null && typeof value === 'object' && !ArrayBuffer.isView(value)) {
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, toJsonSafe(inner)]));
  }
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
    return Array.from(value as unknown as ArrayLike<number | bigint>, (element) => toJsonSafe(element));
  }
  return value;
}

const INTEGER_TEXT = /^-?\d+$/;

/** Reads a JSON result back as an exact integer, if it is one (a safe number or a decimal string). */
export function asExactInteger(value: unknown): bigint | undefined {
  if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
  if (typeof value === 'string' && INTEGER_TEXT.test(value)) return BigInt(value);
  return undefined;
}

/** 16 digits in a row: the shortest text that can hold an integer beyond 2^53 (9007199254740992). */
const LONG_DIGITS = /\d{16}/;

/**
 * JSON.parse that keeps integers beyond 2^53 exact, as decimal strings, where the runtime shows their
 * source. A text without 16 digits in a row cannot hold one: it is parsed without the reviver, which
 * costs a call per value.
 */
export function parseJsonExact(text: string): unknown {
  if (!LONG_DIGITS.test(text)) return JSON.parse(text);
  return JSON.parse(text, (_key, value: unknown, context?: { source?: string }) =>
    typeof value === 'number' && !Number.isSafeInteger(value) && context?.source && INTEGER_TEXT.test(context.source) ? context.source : value,
  );
}
