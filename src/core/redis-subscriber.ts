/**
 * One pub/sub connection shared by everything in a process that listens: long-polls, SSE streams,
 * cancellation. Channels are subscribed while anyone listens and unsubscribed when the last one leaves.
 */
import { COMMAND_TIMED_OUT, closeRedis, type RedisClient } from './redis-connection';
import { timeLimit } from './time-limit';

export type MessageListener = (message: string) => void;

/**
 * A SUBSCRIBE that fails is tried again a few times: on a Redis Cluster the client's subscriber
 * connection is opened on first use and may be replaced (a node went away, or ioredis's ready check
 * raced the first SUBSCRIBE and failed with "Connection in subscriber mode"); the next try goes to
 * the new connection.
 */
const SUBSCRIBE_ATTEMPTS = 4;
const SUBSCRIBE_RETRY_MS = 50;
/** After a reconnect, how long to let ioredis re-subscribe before telling listeners to catch up. */
const RESUBSCRIBE_SETTLE_MS = 250;

export class RedisSubscriber {
  private readonly listeners = new Map<string, Set<MessageListener>>();
  private readonly subscriptions = new Map<string, Promise<unknown>>();
  private readonly resubscribedListeners = new Set<() => void>();
  private closed = false;
  /** The underlying connection, e.g. to wait until it is ready. */
  readonly connection: RedisClient;

  constructor(private readonly redis: RedisClient) {
    this.connection = redis;
    redis.on('message', (channel: string, message: string) => {
      for (const listener of this.listeners.get(channel) ?? []) listener(message);
    });
    // One 'ready' listener for everyone (a stream each would trip EventEmitter's leak warning).
    redis.on('ready', () => {
      setTimeout(() => {
        if (!this.closed) for (const listener of [...this.resubscribedListeners]) listener();
      }, RESUBSCRIBE_SETTLE_MS).unref();
    });
  }

  /**
   * Calls `listener` each time the connection is ready again after a reconnect (and once after the
   * first connect), once ioredis has had time to subscribe again. Messages published while it was down
   * are lost: listeners re-read what they follow. Returns the way to stop.
   */
  onResubscribed(listener: () => void): () => void {
    this.resubscribedListeners.add(listener);
    return () => this.resubscribedListeners.delete(listener);
  }

  /**
   * Starts listening; the promise settles once Redis confirmed the subscription. Returns the way to stop.
   * With `timeoutMs` (a request path, which must not hang on a stalled Redis), a subscription not
   * confirmed in time fails with "Command timed out"; without it, it waits for Redis (a worker's).
   */
  async listen(channel: string, listener: MessageListener, options: { timeoutMs?: number } = {}): Promise<() => void> {
    let set = this.listeners.get(channel);
    if (!set) {
      set = new Set();
      this.listeners.set(channel, set);
    }
    set.add(listener);
    if (!this.subscriptions.has(channel)) this.subscriptions.set(channel, this.subscribe(channel));
    const subscription = this.subscriptions.get(channel)!;
    try {
      if (options.timeoutMs === undefined) await subscription;
      else if (
        !(await timeLimit(
          subscription.then(() => true),
          options.timeoutMs,
          false,
        ))
      )
        throw new Error(COMMAND_TIMED_OUT);
    } catch (error) {
      // Not subscribed (Redis away): forget this attempt, so that the next listen subscribes afresh.
      set.delete(listener);
      if (set.size === 0 && this.listeners.get(channel) === set) this.listeners.delete(channel);
      if (this.subscriptions.get(channel) === subscription) this.subscriptions.delete(channel);
      throw error;
    }
    return () => {
      const current = this.listeners.get(channel);
      if (!current?.delete(listener) || current.size > 0) return;
      this.listeners.delete(channel);
      this.subscriptions.delete(channel);
      if (!this.closed) this.redis.unsubscribe(channel).catch(() => undefined);
    };
  }

  /** Subscribes with retries; a subscription that failed for good is forgotten, so the next listener tries afresh. */
  private subscribe(channel: string): Promise<unknown> {
    const attempt = async (): Promise<unknown> => {
      for (let tries = 1; ; tries++) {
        try {
          return await this.redis.subscribe(channel);
        } catch (error) {
          if (tries >= SUBSCRIBE_ATTEMPTS || this.closed) throw error;
          await new Promise((resolve) => setTimeout(resolve, SUBSCRIBE_RETRY_MS * tries));
        }
      }
    };
    const subscription = attempt();
    subscription.catch(() => {
      if (this.subscriptions.get(channel) === subscription) this.subscriptions.delete(channel);
    });
    return subscription;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.listeners.clear();
    this.resubscribedListeners.clear();
    await closeRedis(this.redis);
  }
}
