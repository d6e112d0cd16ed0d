/**
 * Whether Redis can take writes now, not only whether a socket is open: a Redis that is full (OOM), a
 * replica (READONLY), a master without its replicas (NOREPLICAS), a cluster without a master for a slot
 * (CLUSTERDOWN) or a stalled one (no answer) all keep their sockets open and PING may even answer.
 *
 * The probe writes one tiny key with a short expiry (SET PX) in each slot that every submission needs:
 * the two queues' (`{<prefix>-compute}`, `{<prefix>-fetch}`) and the workload index's (a key whose hash
 * tag is the index's name lands in the index's slot). On a single Redis that is three quick writes; on a
 * cluster it reaches every master that holds one of those.
 */
import { QUEUE_KINDS, type Keys } from './keys';
import type { RedisClient } from './redis-connection';
import { timeLimit } from './time-limit';

/** How long a probe key lives: long enough never to pile up, short enough to leave nothing behind. */
const PROBE_TTL_MS = 10_000;

export type WriteProbe = { writable: true } | { writable: false; reason: string };

/** The probe keys, one per slot that a submission writes to. */
export function probeKeys(keys: Keys): string[] {
  return [keys.workloadIndex, ...QUEUE_KINDS.map((kind) => keys.queueName(kind).replace(/[{}]/g, ''))].map(
    (slotName) => `${keys.prefix}:write-probe:{${slotName}}`,
  );
}

/** Writes the probe keys within `deadlineMs`; answers why not when any write fails or is late. */
export async function probeWrites(redis: RedisClient, keys: Keys, deadlineMs: number): Promise<WriteProbe> {
  const now = String(Date.now());
  const writes = Promise.all(probeKeys(keys).map((key) => redis.set(key, now, 'PX', PROBE_TTL_MS)));
  try {
    const done = await timeLimit(writes.then(() => true), deadlineMs, false);
    if (!done) {
      writes.catch(() => undefined);
      return { writable: false, reason: `no answer within ${deadlineMs} ms` };
    }
    return { writable: true };
  } catch (error) {
    return { writable: false, reason: error instanceof Error ? error.message : String(error) };
  }
}
