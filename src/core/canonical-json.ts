/**
 * Canonical JSON: object keys in sorted order at every depth, arrays in their order, `undefined`
 * members left out as JSON.stringify does. Equal values give equal text whatever order their keys
 * came in, so a digest of it compares values: the result cache's keys and Idempotency-Key bodies.
 */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((item) => (item === undefined ? 'null' : canonicalJson(item))).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.keys(value)
      .sort()
      .filter((key) => (value as Record<string, unknown>)[key] !== undefined)
      .map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value);
}
