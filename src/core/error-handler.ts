/**
 * The one place where errors become HTTP answers (the producer's and the dashboard's), always shaped
 * `{"error": {"code", "message", "details"}}`. Known errors carry their status; body-parser's errors
 * are translated; a Redis that cannot be reached is a 503; anything else is a logged 500.
 */
import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { Logger } from 'pino';
import { REDIS_NOISE } from './logger';
import { ChunkmillError, errorEnvelope, NotFoundError, RateLimitedError, RedisUnavailableError, UnauthorizedError, ValidationError } from './errors';
import { isRedisUnavailable } from './redis-errors';

const BODY_PARSER_ERRORS: Record<string, () => ChunkmillError> = {
  'entity.too.large': () => new ChunkmillError('PAYLOAD_TOO_LARGE', 'The request body is larger than allowed.', 413),
  'entity.parse.failed': () => new ValidationError('The request body is not valid JSON.'),
  'entity.verify.failed': () => new ValidationError('The request body could not be verified.'),
  'request.aborted': () => new ValidationError('The request was aborted before its body arrived.'),
  'request.size.invalid': () => new ValidationError('The request body does not match its Content-Length.'),
  'encoding.unsupported': () => new ChunkmillError('UNSUPPORTED_MEDIA_TYPE', 'Unsupported content encoding.', 415),
  'charset.unsupported': () => new ChunkmillError('UNSUPPORTED_MEDIA_TYPE', 'Unsupported charset; send UTF-8 JSON.', 415),
};

export const wwwAuthenticate = (error: UnauthorizedError): string => `Bearer realm="chunkmill"${error.bearerError ? `, error="${error.bearerError}"` : ''}`;

export function toChunkmillError(error: unknown): ChunkmillError | undefined {
  if (error instanceof ChunkmillError) return error;
  const type = (error as { type?: unknown })?.type;
  if (typeof type === 'string' && BODY_PARSER_ERRORS[type]) return BODY_PARSER_ERRORS[type]();
  if (isRedisUnavailable(error)) return new RedisUnavailableError();
  // Other client errors of body-parser (e.g. a gzip body that is not gzip) have no type; they are still the request's fault.
  const status = (error as { status?: unknown })?.status;
  if ((error as { expose?: unknown })?.expose === true && status === 400) return new ValidationError('The request body could not be read.');
  // The router's own 400 (not marked `expose`): a path parameter that is not valid percent-encoding.
  if (error instanceof URIError && status === 400) return new ValidationError('The request path is not valid percent-encoding.');
  return undefined;
}

export const notFoundHandler: RequestHandler = (req, _res, next) => {
  next(new NotFoundError(`No route for ${req.method} ${req.path}.`));
};

export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (error, req, res, _next) => {
    const known = toChunkmillError(error);
    if (!known) logger.error({ err: error, method: req.method, path: req.path }, 'unexpected error');
    // A 503 for every request during an outage: the outage is told once (redis-availability.ts).
    else if (known.httpStatus >= 500)
      logger.warn({ err: error, path: req.path, ...(known instanceof RedisUnavailableError ? REDIS_NOISE : {}) }, known.message);
    const answer = known ?? new ChunkmillError('INTERNAL_ERROR', 'Something went wrong on our side.', 500);
    if (res.headersSent) return res.end();
    // 429 and 503 tell the client when to come back.
    if (answer instanceof RateLimitedError || answer instanceof RedisUnavailableError) res.set('Retry-After', String(answer.retryAfterSeconds));
    // RFC 6750: a 401 names the scheme it wants, and says when the token given was the problem.
    if (answer instanceof UnauthorizedError) res.set('WWW-Authenticate', wwwAuthenticate(answer));
    res.status(answer.httpStatus).json(errorEnvelope(answer));
  };
}
