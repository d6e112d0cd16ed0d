/**
 * The `extract` option of fetch workloads: a dotted path into a JSON body (`main.temp`,
 * `list.0.main.temp`), the notebook's `data['main']['temp']`. It is data, never code: each segment is a
 * plain own-property name or an array index, and names that reach into prototypes are refused at the edge.
 */

/** Segments that could reach an object's prototype chain; refused wherever a path is accepted. */
export const FORBIDDEN_PATH_SEGMENTS: ReadonlySet<string> = new Set(['__proto__', 'prototype', 'constructor']);

export const MAX_EXTRACT_SEGMENTS = 32;

/** Why `path` is not a valid extract path, or undefined when it is. */
export function extractPathProblem(path: string): string | undefined {
  const segments = path.split('.');
  if (segments.length > MAX_EXTRACT_SEGMENTS) return `at most ${MAX_EXTRACT_SEGMENTS} segments`;
  if (segments.some((segment) => segment.length === 0)) return 'segments must not be empty ("a.b", not "a..b")';
  const forbidden = segments.find((segment) => FORBIDDEN_PATH_SEGMENTS.has(segment));
  if (forbidden) return `"${forbidden}" is not allowed in a path`;
  return undefined;
}

/** The value at `path` in `body`, or null when any step is missing. Own properties only. */
export function extractValue(body: unknown, path: string): unknown {
  let current: unknown = body;
  for (const segment of path.split('.')) {
    if (FORBIDDEN_PATH_SEGMENTS.has(segment)) return null;
    if (Array.isArray(current)) {
      if (!/^(0|[1-9]\d*)$/.test(segment)) return null;
      current = current[Number(segment)];
    } else if (current !== null && typeof current === 'object' && Object.hasOwn(current, segment)) {
      current = (current as Record<string, unknown>)[segment];
    } else {
      return null;
    }
    if (current === undefined) return null;
  }
  return current;
}
