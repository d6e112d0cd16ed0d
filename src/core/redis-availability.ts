/**
 * Whether this process has Redis, told in as few log lines as an outage deserves, and asked by `/readyz`.
 *
 * A process says "waiting for Redis at <url>" once when it starts waiting (at start-up, or when Redis goes
 * away), at most one "still waiting" reminder per `remindEveryMs` while it waits, and "Redis is back" once.
 * Log lines show the URL with its password replaced (redactRedisUrl); `/readyz`, which anyone may ask,
 * shows only its hosts (redisUrlHosts).
 *
 * Lines that repeat while Redis is away (a connection's or BullMQ's 'error' event, a periodic task that
 * failed) are logged at warn level with `redisNoise: true`. The process's logger (created by run-main.ts)
 * hands each of them to `absorb`: a lost connection (isRedisConnectionFailure: refused, reset, closed,
 * timed out) is counted towards the outage instead of being logged. Other lines, error-level ones, and
 * a Redis that answers but refuses (full, read-only, ...) are logged as they are.
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

/** `scheme://`, the user info (up to the last `@`, which may be in a password) and the rest. */
function splitRedisUrl(url: string): { scheme: string; userInfo?: string; rest: string } | undefined {
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(url)?.[0];
  if (!scheme) return undefined;
  const afterScheme = url.slice(scheme.length);
  const at = afterScheme.lastIndexOf('@');
  return at < 0 ? { scheme, rest: afterScheme } : { scheme, userInfo: afterScheme.slice(0, at), rest: afterScheme.slice(at + 1) };
}

/**
 * A Redis URL fit for a log line: everything up to the last `@` after `://` is user info, and only the
 * user name of a `user:password@` survives (`redis://app:***@host`); user info without a colon (the
 * password of a `redis+cluster://` URL, perhaps a password elsewhere too) and any `password=` query
 * value become `***`. What cannot be read as a URL is shown as `***`.
 */
export function redactRedisUrl(url: string): string {
  const parts = splitRedisUrl(url);
  if (!parts) return '***';
  const { scheme, userInfo, rest } = parts;
  const colon = userInfo?.indexOf(':') ?? -1;
  const shown = userInfo === undefined ? '' : colon < 0 ? '***@' : `${userInfo.slice(0, colon)}:***@`;
  return scheme + shown + rest.replace(/([?&]password=)[^&#]*/gi, '$1***');
}

/** Only the scheme and hosts of a Redis URL (`redis://h1:6379`, `redis+cluster://a:1,b:2`): no user, password or options. */
export function redisUrlHosts(url: string): string {
  const parts = splitRedisUrl(url);
  if (!parts) return '***';
  return parts.scheme + parts.rest.replace(/[/?#].*$/s, '');
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
  /** The URL for log lines, its password redacted. */
  readonly url: string;
  /** The URL's scheme and hosts only, for `/readyz` answers. */
  readonly hosts: string;

  constructor(
    url: string,
    private readonly logger: Logger,
    options: RedisAvailabilityOptions = {},
  ) {
    this.url = redactRedisUrl(url);
    this.hosts = redisUrlHosts(url);
    this.remindEveryMs = options.remindEveryMs ?? 10_000;
    this.probeEveryMs = options.probeEveryMs ?? 1_000;
    this.connectGraceMs = options.connectGraceMs ?? 1_500;
  }

  /** Follows these connections: their errors count towards an outage, their `ready` may end one. */
  watch(...connections: RedisClient[]): void {
    for (const connection of connections) {
      this.connections.push(connection);
      // Always about the connection (a DNS failure too). Its line, if logged as noise, is counted by `absorb`.
      const onError = (error: Error): void => this.noteFailure(reasonOf(error));
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
   * Asked by the logger about a warning marked `redisNoise: true`: a lost connection is counted towards
   * the outage (starting one if there is none) and answers true, its line is left out. Anything else
   * answers false: log it as usual. After `close`, lost connections are left out uncounted (a shutdown's).
   */
  absorb(error: unknown): boolean {
    if (!isRedisConnectionFailure(error) && !isRedisConnectionFailure(reasonOf(error))) return false;
    if (this.closed) return true;
    this.noteFailure(reasonOf(error));
    this.absorbed++;
    return true;
  }

  /** Waiting for Redis now (since start-up or since it went away). */
  get waiting(): boolean {
    return this.waitingSince !== undefined || !this.connected();
  }

  /** Why this process is not ready, or undefined when Redis answers and every condition is met. */
  notReadyReason(): string | undefined {
    if (this.waiting) return `waiting for Redis at ${this.hosts} (${this.lastReason})`;
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

  /** A lost connection: starts an outage, or reminds of the one going on (once per `remindEveryMs`). */
  private noteFailure(reason: string): void {
    if (this.closed) return;
    this.lastReason = reason;
    if (this.waitingSince === undefined) {
      this.startWaiting(reason);
      return;
    }
    if (Date.now() - this.lastLineAt < this.remindEveryMs) return;
    this.lastLineAt = Date.now();
    this.logger.warn(
      { redis: this.url, reason, waitingMs: Date.now() - this.waitingSince, linesLeftOut: this.absorbed },
      `still waiting for Redis at ${this.url}`,
    );
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

/** An error's message (one from another realm, e.g. a VM context, is no `instanceof Error` but has one too). */
function reasonOf(error: unknown): string {
  const { message, name } = (typeof error === 'object' && error !== null ? error : {}) as { message?: unknown; name?: unknown };
  if (typeof message === 'string' && message) return message;
  return typeof name === 'string' && name ? name : String(error);
}
