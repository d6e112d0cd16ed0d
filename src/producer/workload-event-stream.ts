/**
 * `GET /v1/workloads/:id/events`: Server-Sent Events for one workload.
 * - `progress` {status, completed, failed, total}: on connect and after every batch of finished items;
 * - `result` {index, value[, error]}: each finished item once, in completion order (items that had
 *   finished before the client connected come first);
 * - `done` {status, completed, failed, total}: the workload reached a final status; the stream ends.
 * The stream subscribes before it reads the snapshot, and skips indexes it has already sent, so an item
 * finishing while the client connects is neither lost nor sent twice.
 */
import type { Response } from 'express';
import type { RedisSubscriber } from '../core/redis-subscriber';
import type { Keys } from '../core/keys';
import type { WorkloadEvent, WorkloadStore } from '../core/workload-store';
import { FINAL_STATUSES, type WorkloadRecord } from '../core/workload';
import { NotFoundError } from '../core/errors';
import { canSee, OPEN_IDENTITY, type Identity } from '../core/tenants';

const HEARTBEAT_MS = 15_000;

export async function streamWorkloadEvents(
  res: Response,
  id: string,
  deps: { store: WorkloadStore; subscriber: RedisSubscriber; keys: Keys; subscribeTimeoutMs?: number },
  identity: Identity = OPEN_IDENTITY,
): Promise<void> {
  const first = await deps.store.get(id);
  // Another tenant's workload is one that does not exist (as in workload-service.ts).
  if (!first || !canSee(identity, first.tenant)) throw new NotFoundError(`No workload with id ${id}.`);

  res.status(200).set({
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-cache, no-transform',
    Connection: 'keep-alive',
    'X-Accel-Buffering': 'no',
  });
  res.flushHeaders();

  const sent = new Set<number>();
  let finished = false;
  const send = (event: string, data: unknown): void => {
    res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  };
  const sendItem = (item: { index: number; value: unknown; error?: unknown }): void => {
    if (sent.has(item.index)) return;
    sent.add(item.index);
    send('result', item);
  };
  const finish = (record: Pick<WorkloadRecord, 'status' | 'completed' | 'failed' | 'total'>): void => {
    if (finished) return;
    finished = true;
    send('done', { status: record.status, completed: record.completed, failed: record.failed, total: record.total });
    res.end();
  };

  let snapshotSent = false;
  const pending: WorkloadEvent[] = [];
  const onEvent = (event: WorkloadEvent): void => {
    if (event.type === 'items') {
      for (const item of event.items) sendItem(item);
      send('progress', { status: event.status, completed: event.completed, failed: event.failed, total: event.total });
    }
    if (FINAL_STATUSES.has(event.status)) {
      void deps.store.get(id).then((record) => record && finish(record));
    }
  };
  const stop = await deps.subscriber.listen(deps.keys.workload(id).events, (message) => {
    const event = JSON.parse(message) as WorkloadEvent;
    if (snapshotSent) onEvent(event);
    else pending.push(event);
  }, { timeoutMs: deps.subscribeTimeoutMs });
  const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), HEARTBEAT_MS);
  const cleanUp = (): void => {
    clearInterval(heartbeat);
    stop();
  };
  res.on('close', cleanUp);

  const record = (await deps.store.get(id)) ?? first;
  send('progress', { status: record.status, completed: record.completed, failed: record.failed, total: record.total });
  const { results, errors } = await deps.store.readOutcomes(record);
  const errorByIndex = new Map(errors.map((error) => [error.index, error]));
  for (let index = 0; index < results.length; index++) {
    const error = errorByIndex.get(index);
    if (error) sendItem({ index, value: null, error: { code: error.code, message: error.message } });
    else if (results[index] !== null) sendItem({ index, value: results[index] });
  }
  snapshotSent = true;
  for (const event of pending.splice(0)) onEvent(event);
  if (FINAL_STATUSES.has(record.status)) finish(record);
}
