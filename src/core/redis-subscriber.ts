/**
 * One pub/sub connection shared by everything in a process that listens: long-polls, SSE streams,
 * cancellation. Channels are subscribed while anyone listens and unsubscribed when the last one leaves.
 */
import type { RedisClient } from './redis-connection';

export type MessageListener = (message: string) => void;

export class RedisSubscriber {
  private readonly listeners = new Map<string, Set<MessageListener>>();
  private readonly subscriptions = new Map<string, Promise<unknown>>();
  private closed = false;
  /** The underlying connection, e.g. to wait until it is ready. */
  readonly connection: RedisClient;

  constructor(private readonly redis: RedisClient) {
    this.connection = redis;
    redis.on('message', (channel: string, message: string) => {
      for (const listener of this.listeners.get(channel) ?? []) listener(message);
    });
  }

  /** Starts listening; the promise settles once Redis confirmed the subscription. Returns the way to stop. */
  async listen(channel: string, listener: MessageListener): Promise<() => void> {
    let set = this.listeners.get(channel);
    if (!set) {
      set = new Set();
      this.listeners.set(channel, set);
    }
    set.add(listener);
    if (!this.subscriptions.has(channel)) this.subscriptions.set(channel, this.redis.subscribe(channel));
    await this.subscriptions.get(channel);
    return () => {
      const current = this.listeners.get(channel);
      if (!current?.delete(listener) || current.size > 0) return;
      this.listeners.delete(channel);
      this.subscriptions.delete(channel);
      if (!this.closed) this.redis.unsubscribe(channel).catch(() => undefined);
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.listeners.clear();
    try {
      await this.redis.quit();
    } catch {
      this.redis.disconnect();
    }
  }
}
