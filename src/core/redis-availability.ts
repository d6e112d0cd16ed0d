/**
 * Whether this process has Redis, told in as few log lines as an outage deserves, and asked by `/readyz`.
 *
 * Without it, each connection (and each of BullMQ's duplicates) logged every failed reconnect with a
 * stack trace: an 8-second Redis outage gave 150-180 lines per worker host. Now a process says
 * "waiting for Redis at <url>" once when it starts waiting (at start-up, or when Redis goes away), at most
 * one reminder per `remindEveryMs` while it waits, and "Redis is back" once. The URL's password is never
 * logged.
 *
 * The process's logger (created by run-main.ts) hands every warning or error whose `err` is a lost
 * connection (isRedisConnectionFailure: refused, reset, closed, timed out) to `absorb`, which counts it
 * towards the outage instead of logging it. Redis that answers but refuses (full, read-only, ...) is not
 * an outage: those lines stay as they are.
 *
 * While waiting, it PINGs Redis through the first watched connection every `probeEveryMs`: Redis is back
 * once every watched connection is connected and the PING is answered (a Redis that was frozen, not
 * disconnected, comes back without a reconnect).
 */
import type { Logger } from 'pino';
import { isRedisConnectionFailure } from './redis-errors';
import type { RedisClient } from './redis-connection';
import { timeLimit } from './time-limit';

export interface RedisAvailabilityOptions {
  /** At most one "still waiting" line this often during an outage. @defaultValue 10000 */
  remindEveryMs?: number;
  /** How often a waiting process checks whether Redis is back. @defaultValue 1000 */
  probeEveryMs?: number;
  /** Waiting starts when the connections are not up this long after `watch` (no error needed). @defaultValue 1500 */
  connectGraceMs?: number;
}

/** A Redis URL fit for a log line: any password (user info or `password=` query) replaced by `***`. */
export function redactRedisUrl(url: string): string {
  return url.replace(/^([a-z+]+:\/\/)([^@/]*):([^@/]*)@/i, '$1$2:***@').replace(/([?&]password=)[^&]*/i, '$1***');
}

export class RedisAvailability {
  private readonly connections: RedisClient[] = [];
  private readonly detach: Array<() => void> = [];
  private readonly conditions: Array<() => string | undefined> = [];
  private waitingSince?: number;
  private lastLineAt = 0;
  private absorbed = 0;
  private lastReason = 'not connected yet';
  private probing = false;
  private probeTimer?: NodeJS.Timeout;
  private graceTimer?: NodeJS.Timeout;
  private closed = false;
  private readonly remindEveryMs: number;
  private readonly probeEveryMs: number;
  private readonly connectGraceMs: number;
  readonly url: string;

  constructor(
    url: string,
    private readonly logger: Logger,
    options: RedisAvailabilityOptions = {},
  ) {
    this.url = redactRedisUrl(url);
    this.remindEveryMs = options.remindEveryMs ?? 10_000;
    this.probeEveryMs = options.probeEveryMs ?? 1_000;
    this.connectGraceMs = options.connectGraceMs ?? 1_500;
  }

  /** Follows these connections: their errors count towards an outage, their `ready` may end one. */
  watch(...connections: RedisClient[]): void {
    for (const connection of connections) {
      this.connections.push(connection);
      const onError = (error: Error): void => void this.absorb(error, true);
      // A connection Redis closed (a restart, a kill) is an outage even before a reconnect fails.
      const onClose = (): void => {
        if (!this.closed && connection.status !== 'end') this.startWaiting('connection closed');
      };
      const onReady = (): void => this.check();
      connection.on('error', onError);
      connection.on('close', onClose);
      connection.on('ready', onReady);
      this.detach.push(() => {
        connection.off('error', onError);
        connection.off('close', onClose);
        connection.off('ready', onReady);
      });
    }
    if (!this.graceTimer && !this.closed) {
      this.graceTimer = setTimeout(() => {
        if (!this.connected()) this.startWaiting(this.lastReason);
      }, this.connectGraceMs);
      this.graceTimer.unref();
    }
  }

  /**
   * A further condition of readiness (e.g. "the queues are initialised"): answers why not, or undefined.
   * Checked by `notReadyReason` after Redis itself.
   */
  require(condition: () => string | undefined): void {
    this.conditions.push(condition);
  }

  /**
   * Counts a lost-connection error towards the outage (starting one if there is none) and answers true:
   * its line is left out. Any other error answers false (log it as usual). `connectionEvent`: the error
   * came from a connection's 'error' event, which is always about the connection (a DNS failure too).
   */
  absorb(error: unknown, connectionEvent = false): boolean {
    if (this.closed) return isRedisConnectionFailure(error);
    if (!connectionEvent && !isRedisConnectionFailure(error)) return false;
    this.lastReason = reasonOf(error);
    this.absorbed++;
    if (this.waitingSince === undefined) this.startWaiting(this.lastReason);
    else if (Date.now() - this.lastLineAt >= this.remindEveryMs) {
      this.lastLineAt = Date.now();
      this.logger.warn(
        { redis: this.url, reason: this.lastReason, waitingMs: Date.now() - this.waitingSince, linesLeftOut: this.absorbed },
        `still waiting for Redis at ${this.url}`,
      );
    }
    return true;
  }

  /** Waiting for Redis now (since start-up or since it went away). */
  get waiting(): boolean {
    return this.waitingSince !== undefined || !this.connected();
  }

  /** Why this process is not ready, or undefined when Redis answers and every condition is met. */
  notReadyReason(): string | undefined {
    if (this.waiting) return `waiting for Redis at ${this.url} (${this.lastReason})`;
    for (const condition of this.conditions) {
      const reason = condition();
      if (reason) return reason;
    }
    return undefined;
  }

  /** Stops following the connections (a shutdown closes them: that is no outage). */
  close(): void {
    this.closed = true;
    clearTimeout(this.graceTimer);
    clearInterval(this.probeTimer);
    this.probeTimer = undefined;
    for (const detach of this.detach.splice(0)) detach();
  }

  private connected(): boolean {
    return this.connections.every((connection) => connection.status === 'ready');
  }

  private startWaiting(reason: string): void {
    if (this.closed) return;
    this.lastReason = reason;
    if (this.waitingSince !== undefined) return;
    this.waitingSince = Date.now();
    this.lastLineAt = Date.now();
    this.absorbed = 0;
    this.logger.warn({ redis: this.url, reason }, `waiting for Redis at ${this.url}`);
    this.probeTimer = setInterval(() => this.check(), this.probeEveryMs);
    this.probeTimer.unref();
  }

  /** Ends the outage once every connection is up and Redis answers a PING. */
  private check(): void {
    if (this.waitingSince === undefined || this.probing || this.closed || !this.connected() || this.connections.length === 0) return;
    this.probing = true;
    const ping = this.connections[0].ping().then(
      () => true,
      () => false,
    );
    timeLimit(ping, Math.max(this.probeEveryMs, 1_000), false)
      .then((answered) => {
        if (!answered || this.waitingSince === undefined || this.closed || !this.connected()) return;
        this.logger.info({ redis: this.url, downMs: Date.now() - this.waitingSince, linesLeftOut: this.absorbed }, `Redis is back at ${this.url}`);
        this.waitingSince = undefined;
        clearInterval(this.probeTimer);
        this.probeTimer = undefined;
      })
      .finally(() => (this.probing = false));
  }
}

function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message || error.name : String(error);
}
