/**
 * `GET /v1/workloads/:id/events`: Server-Sent Events for one workload.
 * - `progress` {status, completed, failed, total}: on connect and after every batch of finished items;
 * - `result` {index, value[, error]}: each finished item once, in completion order (items that had
 *   finished before the client connected come first);
 * - `done` {status, completed, failed, total}: the workload reached a final status; the stream ends;
 * - `error` {"error": {code, message, details}}: the workload's record vanished while the stream was
 *   open (WORKLOAD_LOST, or NOT_FOUND once it may have expired: see missing-workloads.ts); the stream ends.
 * The stream subscribes before it reads the snapshot, and skips indexes it has already sent, so an item
 * finishing while the client connects is neither lost nor sent twice. After the pub/sub connection
 * comes back (messages published meanwhile are lost), it reads the snapshot again: the same rule sends
 * what it missed, and `done` if the workload finished meanwhile. A vanished workload publishes nothing:
 * WorkloadPresence checks that its record is still there every few seconds.
 */
import type { Response } from 'express';
import type { RedisSubscriber } from '../core/redis-subscriber';
import type { Keys } from '../core/keys';
import { parseWorkloadEvent, type EventItem, type WorkloadEvent, type WorkloadStore } from '../core/workload-store';
import { FINAL_STATUSES, type WorkloadRecord } from '../core/workload';
import { errorEnvelope } from '../core/errors';
import { OPEN_IDENTITY, type Identity } from '../core/tenants';
import { resultPages } from './results-pages';
import { drained } from './results-stream';
import type { WorkloadPresence } from './workload-presence';
import type { WorkloadService } from './workload-service';

const HEARTBEAT_MS = 15_000;

type Progress = Pick<WorkloadRecord, 'status' | 'completed' | 'failed' | 'total'>;

export async function streamWorkloadEvents(
  res: Response,
  id: string,
  deps: { service: WorkloadService; store: WorkloadStore; subscriber: RedisSubscriber; keys: Keys; presence: WorkloadPresence; subscribeTimeoutMs?: number },
  identity: Identity = OPEN_IDENTITY,
): Promise<void> {
  // Before the stream starts, a missing workload (or another tenant's) is an ordinary 404 or 410 answer.
  const first = await deps.service.require(id, identity);

  res.status(200).set({
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-cache, no-transform',
    Connection: 'keep-alive',
    'X-Accel-Buffering': 'no',
  });
  res.flushHeaders();

  const sent = new Set<number>();
  let ended = false;
  let closed = false;
  let losing = false;
  let snapshotSent = false;
  // completed + failed of the last progress sent: a snapshot read again never sends an older count.
  let progressCount = -1;
  const send = (event: string, data: unknown): void => {
    if (!ended) res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  };
  const sendProgress = ({ status, completed, failed, total }: Progress): void => {
    if (completed + failed < progressCount) return;
    progressCount = completed + failed;
    send('progress', { status, completed, failed, total });
  };
  /** Sends an item's `result` event once; its value is JSON text as stored, written out as it is. */
  const sendItem = (item: EventItem): void => {
    if (sent.has(item.index) || ended) return;
    sent.add(item.index);
    const data = 'json' in item ? `{"index":${item.index},"value":${item.json}}` : JSON.stringify({ index: item.index, value: null, error: item.error });
    res.write(`event: result\ndata: ${data}\n\n`);
  };

  const cleanUps: Array<() => void> = [];
  const cleanUp = (): void => {
    for (const clean of cleanUps.splice(0)) clean();
  };
  const end = (): void => {
    if (ended) return;
    ended = true;
    cleanUp();
    res.end();
  };
  const finish = (record: Progress): void => {
    send('done', { status: record.status, completed: record.completed, failed: record.failed, total: record.total });
    end();
  };
  const lose = async (): Promise<void> => {
    if (ended || losing) return;
    losing = true;
    // The record was seen: its creation time tells lost from expired without asking Redis.
    const error = await deps.service.explainMissing(id, first.createdAt);
    send('error', errorEnvelope(error));
    end();
  };
  /** Sends the workload's state as Redis has it now: progress, the items not sent yet, `done` if final. */
  const sendSnapshot = async (): Promise<void> => {
    const record = await deps.store.get(id);
    if (ended) return;
    if (!record) return lose();
    sendProgress(record);
    // Page by page (each ending at a chunk boundary, results-pages.ts), each written only once the client
    // took the last: a big workload's snapshot is never held whole in this process.
    for (const { from, to } of resultPages(record, 0, record.total)) {
      if (ended) break;
      await deps.store.forEachOutcome(
        record,
        (index, slot) => sendItem(slot.kind === 'ok' ? { index, json: slot.json } : { index, error: slot.error }),
        from,
        to,
      );
      if (res.writableNeedDrain && !closed) await drained(res);
    }
    if (ended) return;
    if (FINAL_STATUSES.has(record.status)) finish(record);
  };

  const pending: WorkloadEvent[] = [];
  const onEvent = (event: WorkloadEvent): void => {
    if (event.type === 'items') {
      for (const item of event.items) sendItem(item);
      sendProgress(event);
    }
    if (FINAL_STATUSES.has(event.status)) {
      void deps.store.get(id).then(
        (record) => (record ? finish(record) : lose()),
        // Redis failed just now: the resync after its reconnect, or the presence check, ends the stream.
        () => undefined,
      );
    }
  };
  res.on('close', () => {
    closed = true;
    cleanUp();
  });
  const stop = await deps.subscriber.listen(
    deps.keys.workload(id).events,
    (message) => {
      const event = parseWorkloadEvent(message);
      if (snapshotSent) onEvent(event);
      else pending.push(event);
    },
    { timeoutMs: deps.subscribeTimeoutMs },
  );
  const heartbeat = setInterval(() => {
    if (!ended) res.write(': keep-alive\n\n');
  }, HEARTBEAT_MS);
  cleanUps.push(
    stop,
    () => clearInterval(heartbeat),
    deps.presence.watch(id, () => void lose()),
    deps.subscriber.onResubscribed(() => {
      if (snapshotSent) sendSnapshot().catch(() => undefined);
    }),
  );
  // The client may have left while we subscribed.
  if (closed) return cleanUp();

  await sendSnapshot();
  snapshotSent = true;
  for (const event of pending.splice(0)) if (!ended) onEvent(event);
}
