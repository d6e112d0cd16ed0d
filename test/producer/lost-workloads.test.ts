/**
 * Workloads whose state vanished from Redis (restarted empty, flushed, a lost cluster node), with the
 * in-process producer and no worker (workloads stay queued): open streams and long-polls end with the
 * lost error within a few seconds, and requests answer 410 WORKLOAD_LOST where the producer can know
 * the workload existed (its index, its memory), 404 where it cannot or where the workload expired.
 */
import { Redis } from 'ioredis';
import { Keys } from '../../src/core/keys';
import { PRESENCE_CHECK_MS } from '../../src/producer/workload-presence';
import { readSse, type SseMessage } from '../../src/sdk/sse-stream';
import { startProducerHarness, type ProducerHarness } from '../utils/producer-harness';
import { testRedisUrl } from '../utils/redis';
import { validatingFetch } from '../utils/openapi-validator';

/** The producer's event stream, checked against its OpenAPI document: status and media type at once, each event once it has ended. */
const fetch = validatingFetch();

const workload = { type: 'compute', task: 'sumSquares', inputs: [1, 2, 3], chunkSize: 1 };
/** The longest a vanished workload's stream or long-poll may take to end: a presence check and some slack. */
const ENDS_WITHIN_MS = PRESENCE_CHECK_MS + 2_000;

describe('lost workloads', () => {
  let harness: ProducerHarness;
  let redis: Redis;
  let keys: Keys;
  const others: ProducerHarness[] = [];

  beforeEach(async () => {
    harness = await startProducerHarness('lost');
    redis = new Redis(testRedisUrl());
    keys = new Keys(harness.prefix);
  });
  afterEach(async () => {
    // The other producers share the prefix: closed first (deleting the prefix twice is harmless).
    for (const other of others.splice(0)) await other.close();
    redis.disconnect();
    await harness.close();
    expect(fetch.violations.splice(0).map((violation) => violation.message)).toEqual([]);
  });

  /** A second producer on the same prefix: it never saw the workloads, only Redis can tell it about them. */
  const otherProducer = async (): Promise<ProducerHarness> => {
    const other = await startProducerHarness('lost-other', { CHUNKMILL_PREFIX: harness.prefix });
    others.push(other);
    return other;
  };
  /** What a Redis that lost the workload looks like: its keys are gone; the index stays unless told. */
  const loseState = async (id: string, options: { index?: boolean } = {}): Promise<void> => {
    const wl = keys.workload(id);
    await redis.del(wl.meta, wl.results, wl.chunks, wl.feed, wl.doneChunks);
    if (options.index) await redis.zrem(keys.workloadIndex, id);
  };
  const errorOf = (answer: { status: number; body: any }) => [answer.status, answer.body?.error?.code];

  it('GET, results, events and DELETE answer 410 WORKLOAD_LOST while the index remembers the id; ids never seen stay 404', async () => {
    const id = await harness.api.submit(workload);
    await loseState(id);
    const other = await otherProducer();
    for (const api of [harness.api, other.api]) {
      const view = await api.get(`/v1/workloads/${id}`);
      expect(errorOf(view)).toEqual([410, 'WORKLOAD_LOST']);
      expect(view.body.error.message).toMatch(/accepted, but its state is gone from Redis/);
      expect(view.body.error.details).toEqual([{ id }]);
      expect(errorOf(await api.get(`/v1/workloads/${id}/results`))).toEqual([410, 'WORKLOAD_LOST']);
      expect(errorOf(await api.get(`/v1/workloads/${id}/results?wait=5000`))).toEqual([410, 'WORKLOAD_LOST']);
      expect(errorOf(await api.get(`/v1/workloads/${id}/events`))).toEqual([410, 'WORKLOAD_LOST']);
      expect(errorOf(await api.delete(`/v1/workloads/${id}`))).toEqual([410, 'WORKLOAD_LOST']);
      expect(errorOf(await api.get('/v1/workloads/never-was'))).toEqual([404, 'NOT_FOUND']);
    }
    // A listing skips it, but keeps it in the index: it can still be told apart from an id never seen.
    expect((await harness.api.get('/v1/workloads')).body.workloads).toEqual([]);
    expect(await redis.zscore(keys.workloadIndex, id)).not.toBeNull();
    expect(errorOf(await other.api.get(`/v1/workloads/${id}`))).toEqual([410, 'WORKLOAD_LOST']);
  });

  it('a workload old enough to have expired answers 404, and a listing drops it from the index', async () => {
    const id = await harness.api.submit(workload);
    await loseState(id);
    const longAgo = Date.now() - harness.config.RESULT_TTL_SECONDS * 1000 - 1000;
    await redis.zadd(keys.workloadIndex, longAgo, id);
    const other = await otherProducer();
    const view = await other.api.get(`/v1/workloads/${id}`);
    expect(errorOf(view)).toEqual([404, 'NOT_FOUND']);
    expect(view.body.error.message).toMatch(/expired/);
    await other.api.get('/v1/workloads');
    expect(await redis.zscore(keys.workloadIndex, id)).toBeNull();
  });

  it('Redis emptied, index and all: the producer that accepted the workload still answers 410; another one can only say 404', async () => {
    const id = await harness.api.submit(workload);
    await loseState(id, { index: true });
    expect(errorOf(await harness.api.get(`/v1/workloads/${id}`))).toEqual([410, 'WORKLOAD_LOST']);
    expect(errorOf(await harness.api.get(`/v1/workloads/${id}/results?wait=1000`))).toEqual([410, 'WORKLOAD_LOST']);
    const other = await otherProducer();
    expect(errorOf(await other.api.get(`/v1/workloads/${id}`))).toEqual([404, 'NOT_FOUND']);
  });

  it('an open event stream ends with an `error` event (WORKLOAD_LOST) within seconds when its workload vanishes; a long-poll answers 410', async () => {
    const id = await harness.api.submit(workload);
    const response = await fetch(`${harness.api.baseUrl}/v1/workloads/${id}/events`);
    expect(response.status).toBe(200);
    const messages: SseMessage[] = [];
    const streamed = (async () => {
      for await (const message of readSse(response.body!)) messages.push(message);
    })();
    const longPoll = harness.api.get(`/v1/workloads/${id}/results?wait=60000`);
    while (messages.length === 0) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(messages[0]).toMatchObject({ event: 'progress' });
    // Past the subscriber's first 'ready' (which re-reads every stream's snapshot): what ends these is
    // the periodic presence check, as after a FLUSHALL, with no reconnect to notice.
    await new Promise((resolve) => setTimeout(resolve, 1000));

    // Every index and memory gone: the stream and the long-poll saw the record, and know.
    const lostAt = Date.now();
    await loseState(id, { index: true });
    const [, polled] = await Promise.all([streamed, longPoll]);
    expect(Date.now() - lostAt).toBeLessThan(ENDS_WITHIN_MS);
    const last = messages.at(-1)!;
    expect(last.event).toBe('error');
    expect(JSON.parse(last.data)).toEqual({ error: { code: 'WORKLOAD_LOST', message: expect.stringMatching(/state is gone from Redis/), details: [{ id }] } });
    expect(messages.filter((message) => message.event === 'done')).toEqual([]);
    expect(errorOf(polled)).toEqual([410, 'WORKLOAD_LOST']);
  });
});
