/**
 * `/v1/arrays/:name`: named Float64 arrays as raw little-endian bytes (application/octet-stream), the
 * inputs and outputs of array workloads (see core/array-tasks.ts). Bodies bypass JSON entirely: the raw
 * parser hands the bytes over as one Buffer, which goes to Redis as it is (core/array-store.ts).
 */
import express, { Router, type RequestHandler, type Response } from 'express';
import { arrayName as arrayNameSchema, arrayPutQuery, type StoredArray } from '../contract';
import { FLOAT64_BYTES, type ArrayStore } from '../core/array-store';
import { ChunkmillError, NotFoundError, ValidationError } from '../core/errors';
import { issuesToDetails, parseOrThrow } from '../core/workload-schema';
import { identityOf, tenantArrayName } from '../core/tenants';

const OCTET_STREAM = 'application/octet-stream';

export interface ArrayRouteOptions {
  arrays: ArrayStore;
  /** Bytes per array at most (413 past it). */
  maxArrayBytes: number;
  /** The TTL of an array that asks for none (the workloads' result TTL). */
  defaultTtlSeconds: number;
}

const requireOctetStream: RequestHandler = (req, _res, next) => {
  if (!req.is(OCTET_STREAM)) {
    return next(new ChunkmillError('UNSUPPORTED_MEDIA_TYPE', `Send the array as raw little-endian Float64 bytes (Content-Type: ${OCTET_STREAM}).`, 415));
  }
  next();
};

/** The `:name` of a route, checked by the contract's rule. */
function arrayName(value: unknown): string {
  const parsed = arrayNameSchema.safeParse(value);
  if (!parsed.success) throw new ValidationError('The array name is not valid.', issuesToDetails(parsed.error.issues, ['name']));
  return parsed.data;
}

export function arrayRoutes(options: ArrayRouteOptions): Router {
  const router = Router();
  const { arrays } = options;
  const rawBody = express.raw({ type: () => true, limit: options.maxArrayBytes });

  // Each tenant has its own names (core/tenants.ts): another tenant's array is one that does not exist.
  const owned = (res: Response, name: string): string => tenantArrayName(identityOf(res).tenant, name);

  router.put('/arrays/:name', requireOctetStream, rawBody, async (req, res) => {
    const name = arrayName(req.params.name);
    const ttl = parseOrThrow(arrayPutQuery, req.query, 'The query').ttl ?? options.defaultTtlSeconds;
    const body = req.body as unknown;
    if (!Buffer.isBuffer(body) || body.length === 0 || body.length % FLOAT64_BYTES !== 0) {
      const bytes = Buffer.isBuffer(body) ? body.length : 0;
      throw new ValidationError(`The array must be a non-empty multiple of ${FLOAT64_BYTES} bytes (Float64); it has ${bytes}.`, [
        { path: 'body', message: `${bytes} bytes` },
      ]);
    }
    const stored: StoredArray = { ...(await arrays.put(owned(res, name), body, ttl)), name };
    res.json(stored);
  });

  router.get('/arrays/:name', async (req, res) => {
    const name = arrayName(req.params.name);
    const bytes = await arrays.read(owned(res, name));
    if (!bytes) throw new NotFoundError(`No array named ${name}.`);
    // end(), not send(): send() would hash the whole body for an ETag (hundreds of ms at 128 MB).
    res
      .type(OCTET_STREAM)
      .set({ 'Content-Length': String(bytes.length), 'X-Array-Length': String(bytes.length / FLOAT64_BYTES) })
      .end(bytes);
  });

  router.delete('/arrays/:name', async (req, res) => {
    const name = arrayName(req.params.name);
    if (!(await arrays.remove(owned(res, name)))) throw new NotFoundError(`No array named ${name}.`);
    res.status(204).end();
  });

  return router;
}
