/**
 * Results travel as JSON, which has no BigInt and silently rounds integers beyond 2^53. A BigInt
 * becomes a plain number when it is safe and a decimal string when it is not, so nothing is ever rounded.
 */
export function bigintToJson(value: bigint): number | string {
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(value)
    : value.toString();
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
