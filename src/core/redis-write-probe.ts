/**
 * Whether Redis can take writes now, not only whether a socket is open: a Redis that is full (OOM), a
 * replica (READONLY), a master without its replicas (NOREPLICAS), a cluster without a master for a slot
 * (CLUSTERDOWN) or a stalled one (no answer) all keep their sockets open and PING may even answer.
 *
 * The probe writes one tiny key and deletes it again, in one transaction (so that nothing is ever left
 * behind, not even for a moment), in each slot that every submission needs: the two queues'
 * (`{<prefix>-compute}`, `{<prefix>-fetch}`) and the workload indexes' (a key whose hash tag is an index's
 * name lands in that index's slot). A Redis that refuses the write refuses the whole transaction. On a
 * single Redis that is four quick transactions; on a cluster it reaches every master holding one of those.
 */
import { QUEUE_KINDS, type Keys } from './keys';
import { execOrThrow, type RedisClient } from './redis-connection';
import { timeLimit } from './time-limit';

/** A probe key's expiry, should its deletion ever be lost: it never piles up. */
const PROBE_TTL_MS = 10_000;

export type WriteProbe = { writable: true } | { writable: false; reason: string };

/** The probe keys, one per slot that a submission writes to. */
export function probeKeys(keys: Keys): string[] {
  return [keys.workloadIndex, keys.openWorkloads, ...QUEUE_KINDS.map((kind) => keys.queueName(kind).replace(/[{}]/g, ''))].map(
    (slotName) => `${keys.prefix}:write-probe:{${slotName}}`,
  );
}

/** Writes the probe keys within `deadlineMs`; answers why not when any write fails or is late. */
export async function probeWrites(redis: RedisClient, keys: Keys, deadlineMs: number): Promise<WriteProbe> {
  const now = String(Date.now());
  const writes = Promise.all(probeKeys(keys).map((key) => execOrThrow(redis.multi().set(key, now, 'PX', PROBE_TTL_MS).del(key))));
  try {
    const done = await timeLimit(
      writes.then(() => true),
      deadlineMs,
      false,
    );
    if (!done) {
      writes.catch(() => undefined);
      return { writable: false, reason: `no answer within ${deadlineMs} ms` };
    }
    return { writable: true };
  } catch (error) {
    return { writable: false, reason: error instanceof Error ? error.message : String(error) };
  }
}
