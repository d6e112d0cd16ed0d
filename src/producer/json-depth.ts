/**
 * Refuses request bodies nested deeper than MAX_JSON_DEPTH with a 400. JSON.parse takes any depth,
 * but what comes after (schemas, JSON.stringify when the chunk jobs are written) recurses, and a body
 * of 50 000 nested arrays would end in a stack overflow: a 500 where the client is at fault. The walk
 * here uses its own stack, so it cannot overflow.
 */
import type { RequestHandler } from 'express';
import { ValidationError } from '../core/errors';

/** Deeper than any workload needs (a fetch request's JSON body included). */
export const MAX_JSON_DEPTH = 64;

export function jsonDepthExceeds(value: unknown, maxDepth: number): boolean {
  const pending: Array<[unknown, number]> = [[value, 1]];
  while (pending.length > 0) {
    const [current, depth] = pending.pop()!;
    if (current === null || typeof current !== 'object') continue;
    if (depth > maxDepth) return true;
    for (const child of Object.values(current)) pending.push([child, depth + 1]);
  }
  return false;
}

export const limitJsonDepth: RequestHandler = (req, _res, next) => {
  if (jsonDepthExceeds(req.body, MAX_JSON_DEPTH)) {
    return next(new ValidationError(`The request body is nested deeper than ${MAX_JSON_DEPTH} levels.`));
  }
  next();
};
