/**
 * The scripts of windowed feeding (chunk-feeder.ts): claiming the next chunks of a workload, and
 * finding the fed chunks that are not done. Their keys are a workload's (Keys.workload), so one call's
 * keys share the workload's hash tag.
 */
import type { QueueKind } from '../keys';
import { defineScript } from './redis-script';

/** What a feed plan answers. */
export type FeedPlan =
  /** Nothing to feed, now or later: the workload ended (its payloads are gone), or it is not windowed. */
  | { state: 'closed' }
  /** The window is full, or every chunk was fed already; `next` is the next chunk to feed. */
  | { state: 'full'; next: number }
  /** Chunks `first`, `first + 1`, … were claimed: add their jobs. A payload is null if the workload was removed meanwhile. */
  | { state: 'claimed'; first: number; type: QueueKind; jobOptions: string; payloads: Array<string | null> };

/**
 * Marks `finishedChunk` done (-1: none) and claims the next chunks when the window has room; keeps the
 * feeding state alive for `ttlSeconds` more.
 */
export const feedPlan = defineScript({
  file: 'feed-plan',
  keys: ['meta', 'feed', 'chunks', 'doneChunks'] as const,
  args: ['finishedChunk', 'ttlSeconds'] as const,
  decode: (reply: unknown): FeedPlan => {
    const [next, type, jobOptions, ...payloads] = reply as [number, string?, string?, ...Array<string | null>];
    if (next < 0) return { state: 'closed' };
    if (type === undefined || jobOptions === undefined) return { state: 'full', next };
    return { state: 'claimed', first: next, type: type as QueueKind, jobOptions, payloads };
  },
});

/** Fed chunks of a windowed workload not marked done: undefined when the workload is not windowed. */
export interface UnfinishedFed {
  /** The next chunk to feed: every chunk below it was fed. */
  next: number;
  /** In order, until `limit` were found (a few more may come with the last bitmap byte looked at). */
  unfinished: number[];
}

export const unfinishedFed = defineScript({
  file: 'feed-unfinished',
  keys: ['feed', 'doneChunks'] as const,
  args: ['limit'] as const,
  decode: (reply: unknown): UnfinishedFed | undefined => {
    const [next, ...unfinished] = (reply as unknown[]).map(Number);
    return next < 0 ? undefined : { next, unfinished };
  },
});
