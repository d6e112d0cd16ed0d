/**
 * Named Float64 arrays in Redis, stored as what they are: one Redis string of raw little-endian bytes
 * per array (8 bytes an element), never JSON. Compute workloads read and write element ranges of them
 * with GETRANGE/SETRANGE, so a worker moves only its own slice, and every command names one key.
 *
 * Redis is never asked for one huge bulk string: uploads go in slices of ARRAY_SLICE_BYTES into a
 * staging key that is renamed over the array once complete (a reader never sees half an upload), and
 * whole-array reads come back in slices too, inside one MULTI so that they all see the same array.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Keys } from './keys';

export const FLOAT64_BYTES = Float64Array.BYTES_PER_ELEMENT;
/** Bytes per SETRANGE/GETRANGE: big enough to amortise a round trip, small enough not to stall Redis. */
export const ARRAY_SLICE_BYTES = 4 * 1024 * 1024;
/** A staging key outlives a crashed upload by this long at most. */
const UPLOAD_TTL_SECONDS = 3600;

/** An array name: the same alphabet as a workload id (it becomes part of a key and a URL). */
export const ARRAY_NAME = /^[A-Za-z0-9_-]{1,64}$/;

// Writes a range only into an array that still exists and is long enough, so that an array that expired
// (or was replaced by a shorter one) while a workload ran is not silently re-created from zeros.
const WRITE_RANGE = `
local length = redis.call('STRLEN', KEYS[1])
local offset = tonumber(ARGV[1])
if length < offset + string.len(ARGV[2]) then return 0 end
redis.call('SETRANGE', KEYS[1], offset, ARGV[2])
return 1
`;

type ScriptedRedis = Redis & { chunkmillWriteArrayRange(key: string, offset: number, bytes: Buffer): Promise<number> };

export interface StoredArray {
  name: string;
  /** Elements. */
  length: number;
  bytes: number;
  expiresAt: string;
}

export class ArrayStore {
  private readonly redis: ScriptedRedis;

  constructor(
    redis: Redis,
    private readonly keys: Keys,
  ) {
    this.redis = redis as ScriptedRedis;
    if (typeof this.redis.chunkmillWriteArrayRange !== 'function') {
      redis.defineCommand('chunkmillWriteArrayRange', { numberOfKeys: 1, lua: WRITE_RANGE });
    }
  }

  /** Stores (or replaces) an array; `bytes` is raw little-endian Float64, a non-empty multiple of 8 bytes. */
  async put(name: string, bytes: Buffer, ttlSeconds: number): Promise<StoredArray> {
    const staging = this.keys.arrayUpload(name, randomUUID());
    const upload = this.redis.pipeline();
    upload.set(staging, bytes.subarray(0, ARRAY_SLICE_BYTES), 'EX', UPLOAD_TTL_SECONDS);
    for (let offset = ARRAY_SLICE_BYTES; offset < bytes.length; offset += ARRAY_SLICE_BYTES) {
      upload.setrange(staging, offset, bytes.subarray(offset, offset + ARRAY_SLICE_BYTES));
    }
    await execOrThrow(upload);
    await execOrThrow(this.redis.multi().rename(staging, this.keys.array(name)).expire(this.keys.array(name), ttlSeconds));
    return describe(name, bytes.length, ttlSeconds);
  }

  /** Creates (or replaces) an array of `length` zeros: the output of a workload, filled by its items. */
  async create(name: string, length: number, ttlSeconds: number): Promise<StoredArray> {
    const key = this.keys.array(name);
    // SETRANGE past the end pads with zero bytes: one command allocates the whole array inside Redis.
    await execOrThrow(this.redis.multi().del(key).setrange(key, length * FLOAT64_BYTES - 1, Buffer.alloc(1)).expire(key, ttlSeconds));
    return describe(name, length * FLOAT64_BYTES, ttlSeconds);
  }

  /** Elements in the array, or undefined when there is none. */
  async length(name: string): Promise<number | undefined> {
    const bytes = await this.redis.strlen(this.keys.array(name));
    return bytes === 0 ? undefined : Math.floor(bytes / FLOAT64_BYTES);
  }

  /** The whole array's bytes, all slices from one consistent state; undefined when there is none. */
  async read(name: string): Promise<Buffer | undefined> {
    const key = this.keys.array(name);
    for (;;) {
      const bytes = await this.redis.strlen(key);
      if (bytes === 0) return undefined;
      const read = this.redis.multi().strlen(key);
      for (let offset = 0; offset < bytes; offset += ARRAY_SLICE_BYTES) {
        read.getrangeBuffer(key, offset, Math.min(bytes, offset + ARRAY_SLICE_BYTES) - 1);
      }
      const [[, lengthNow], ...slices] = (await execOrThrow(read)) as [[null, number], ...Array<[null, Buffer]>];
      // Replaced between the STRLEN and the MULTI: read again, so that every slice is of one array.
      if (lengthNow === bytes) return Buffer.concat(slices.map(([, slice]) => slice), bytes);
    }
  }

  /**
   * Elements [start, end) into `target` (a view over memory the caller owns, e.g. a SharedArrayBuffer).
   * Answers false when the array is missing or shorter than `end`.
   */
  async readRangeInto(name: string, start: number, end: number, target: Uint8Array): Promise<boolean> {
    const slice = await this.redis.getrangeBuffer(this.keys.array(name), start * FLOAT64_BYTES, end * FLOAT64_BYTES - 1);
    if (slice.length !== (end - start) * FLOAT64_BYTES) return false;
    target.set(slice);
    return true;
  }

  /** Writes `bytes` at element `start`; false when the array is missing or too short (nothing written). */
  async writeRange(name: string, start: number, bytes: Uint8Array): Promise<boolean> {
    const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    return (await this.redis.chunkmillWriteArrayRange(this.keys.array(name), start * FLOAT64_BYTES, buffer)) === 1;
  }

  /** Deletes an array; false when there was none. */
  async remove(name: string): Promise<boolean> {
    return (await this.redis.del(this.keys.array(name))) === 1;
  }
}

function describe(name: string, bytes: number, ttlSeconds: number): StoredArray {
  return { name, length: bytes / FLOAT64_BYTES, bytes, expiresAt: new Date(Date.now() + ttlSeconds * 1000).toISOString() };
}

/** Runs a pipeline or MULTI and throws the first command's error, as a single command would. */
async function execOrThrow(batch: ReturnType<Redis['pipeline']>): Promise<Array<[Error | null, unknown]>> {
  const results = (await batch.exec()) ?? [];
  const failed = results.find(([error]) => error);
  if (failed) throw failed[0];
  return results;
}
