/**
 * Configuration comes from the environment and is validated once, at start. A bad value is a clear
 * error naming the variable, not a crash later. Every role reads the same table; each uses its part.
 */
import fs from 'node:fs';
import os from 'node:os';
import { z } from 'zod';
import { ConfigError } from './errors';
import { QUEUE_KINDS } from './keys';
import { isClusterUrl, parseClusterUrl } from './redis-cluster-url';
import { checkTokenEntries, parseTokenList, type TokenEntry } from './tenants';

const booleanFlag = z.enum(['true', 'false', '1', '0', 'yes', 'no']).transform((value) => value === 'true' || value === '1' || value === 'yes');

const port = z.coerce.number().int().min(0).max(65535);
const positiveInt = z.coerce.number().int().positive();

function availableCores(): number {
  return typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
}

const envSchema = z.object({
  REDIS_URL: z
    .string()
    .regex(/^rediss?(\+cluster)?:\/\//, 'must start with redis://, rediss:// or redis+cluster://')
    .refine((url) => {
      if (!isClusterUrl(url)) return true;
      try {
        return parseClusterUrl(url).nodes.length > 0;
      } catch {
        return false;
      }
    }, 'a cluster URL is redis+cluster://host:port,host:port,... (seed nodes)')
    .default('redis://127.0.0.1:6379'),
  /**
   * How long the producer and the dashboard wait for a Redis reply before answering 503: a Redis that
   * stalls (a long pause, a frozen VM, a partition, a cluster master being failed over) gets a fast 503
   * instead of a hanging request.
   */
  REDIS_COMMAND_TIMEOUT_MS: positiveInt.min(50).max(60_000).default(2_000),
  CHUNKMILL_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, "_", "." and "-" only (1-64 characters)')
    .default('chunkmill'),
  PORT: port.default(3000),
  HOST: z.string().min(1).default('0.0.0.0'),
  DASHBOARD_PORT: port.default(3001),
  WORKER_METRICS_PORT: port.default(9464),
  /**
   * When a worker host stops, how long its /metrics stays up after its processes have exited, waiting for
   * one more scrape (so the last counts, hand-backs included, reach Prometheus); 0: none. Only a host that
   * has been scraped waits. Longer than Prometheus' scrape_interval; mind the container's stop timeout.
   */
  WORKER_METRICS_FINAL_SCRAPE_MS: z.coerce.number().int().min(0).max(60_000).default(6_000),
  WORKER_PROCESSES: positiveInt.max(256).default(availableCores()),
  /** Compute threads per worker process; by default the cores are shared out between the processes. */
  WORKER_THREADS: positiveInt.max(256).optional(),
  /**
   * Compute chunks a worker process holds at once; by default one per compute thread. Not more by default
   * (no prefetch): a chunk held while every thread is busy waits in this process although another may be
   * idle, which for long chunks stretches the workload's tail by a whole chunk. Raise it for many short
   * chunks: a chunk's Redis round trips then overlap another's compute (bench/job-overhead.ts --concurrency).
   */
  WORKER_CONCURRENCY: positiveInt.max(1024).optional(),
  /** Fetch chunks a worker process holds at once (each runs many requests). */
  WORKER_FETCH_CONCURRENCY: positiveInt.max(1024).default(4),
  /** This worker host's id in `GET /v1/workers`; unique per host. */
  WORKER_ID: z
    .string()
    .regex(/^[A-Za-z0-9_.:@-]{1,128}$/, 'letters, digits, "_", ".", ":", "@" and "-" only (1-128 characters)')
    .default(os.hostname()),
  /** The queues this worker host takes chunks from: a comma list of compute and fetch. */
  WORKER_QUEUES: z
    .string()
    .default(QUEUE_KINDS.join(','))
    .transform((value) => [
      ...new Set(
        value
          .split(',')
          .map((kind) => kind.trim())
          .filter((kind) => kind.length > 0),
      ),
    ])
    .pipe(z.array(z.enum(QUEUE_KINDS, { message: `each queue must be one of: ${QUEUE_KINDS.join(', ')}` })).min(1, 'name at least one queue')),
  /** How often a worker host renews its entry in the worker registry; it drops off after 3 missed beats. */
  WORKER_HEARTBEAT_MS: positiveInt.min(100).default(5_000),
  /**
   * Bearer tokens of tenants for `/v1` (and the dashboard): `name:token` pairs or bare tokens, comma
   * separated (see tenants.ts). Unset (with none of the others below): one open tenant, no tokens.
   */
  API_TOKENS: z.string().optional(),
  /** A file of API_TOKENS entries (one or more a line; `#` lines are comments): keeps tokens out of process listings. */
  API_TOKENS_FILE: z.string().optional(),
  /** Tokens (same forms) whose holders see and act on every tenant's workloads. */
  ADMIN_TOKENS: z.string().optional(),
  ADMIN_TOKENS_FILE: z.string().optional(),
  /**
   * The bearer token Prometheus scrapes the dashboard's `/metrics` with (admins may read it too). When
   * tokens are configured and this is not, only admins can read `/metrics`.
   */
  METRICS_TOKEN: z.string().regex(/^\S+$/, 'a token has no spaces').optional(),
  /** A file holding METRICS_TOKEN (what Prometheus's `credentials_file` reads too). */
  METRICS_TOKEN_FILE: z.string().optional(),
  /** bull-board may retry, remove and clean jobs, for admin tokens only; otherwise it is read-only. */
  DASHBOARD_QUEUE_ADMIN: booleanFlag.default(false),
  /** How long a dashboard sign-in lasts. */
  DASHBOARD_SESSION_TTL_SECONDS: positiveInt.max(30 * 24 * 60 * 60).default(12 * 60 * 60),
  /** Requests per minute and tenant when tokens are configured (429 past it); 0 turns the limit off. */
  RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(0).default(6000),
  FETCH_ALLOW_PRIVATE: booleanFlag.default(false),
  RESULT_TTL_SECONDS: positiveInt.default(24 * 60 * 60),
  /** First retry delay of a failed chunk; each later retry waits twice as long. */
  RETRY_BACKOFF_MS: z.coerce.number().int().min(0).default(1000),
  MAX_BODY_BYTES: positiveInt.default(8 * 1024 * 1024),
  MAX_ITEMS_PER_WORKLOAD: positiveInt.default(1_000_000),
  /** Largest array `PUT /v1/arrays/:name` accepts (413 past it); Redis caps a string at 512 MiB. */
  MAX_ARRAY_BYTES: positiveInt.max(512 * 1024 * 1024).default(256 * 1024 * 1024),
  /**
   * Chunk jobs of one workload held in Redis at once (backpressure and fair share, see chunk-feeder.ts);
   * the rest wait in the workload's own hash and are fed as chunks finish.
   */
  CHUNKS_IN_QUEUE_PER_WORKLOAD: positiveInt.max(10_000).default(8),
  /**
   * How often a worker host checks every open workload and repairs what does not add up (feeding a dead
   * worker interrupted, chunk jobs or outcomes a failover lost); see worker/workload-reconciler.ts.
   */
  RECONCILE_INTERVAL_MS: positiveInt.default(5_000),
  /**
   * Replicas that must have a write before chunkmill acknowledges it (a 202, an item's outcome); 0 trusts
   * the master alone. See core/replica-wait.ts and docs/guarantees.md.
   */
  REDIS_WAIT_REPLICAS: z.coerce.number().int().min(0).default(0),
  /** How long a write may wait for those replicas before it counts as failed (503, or the chunk runs again). */
  REDIS_WAIT_TIMEOUT_MS: positiveInt.default(1_000),
  /** How long a cached item result (`"cache": true`) is kept. */
  CACHE_TTL_SECONDS: positiveInt.default(60 * 60),
  LOCK_DURATION_MS: positiveInt.default(30_000),
  STALLED_INTERVAL_MS: positiveInt.default(30_000),
  MAX_STALLED_COUNT: z.coerce.number().int().min(0).default(2),
  SHUTDOWN_GRACE_MS: positiveInt.default(25_000),
  THREAD_MAX_OLD_GENERATION_MB: positiveInt.default(512),
  /** Extra task modules (comma-separated paths); see src/core/tasks/task-registry.ts. */
  CHUNKMILL_TASK_MODULES: z.string().optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

type Env = z.infer<typeof envSchema>;

export interface Config extends Omit<Env, 'WORKER_THREADS' | 'WORKER_CONCURRENCY'> {
  WORKER_THREADS: number;
  WORKER_CONCURRENCY: number;
  /** Every configured token with its tenant, from API_TOKENS, ADMIN_TOKENS and their files; empty: one open tenant. */
  TOKENS: TokenEntry[];
}

/** METRICS_TOKEN, from the variable or its file; it must not also be a tenant's token. */
function loadMetricsToken(values: Env, tokens: TokenEntry[]): string | undefined {
  let token = values.METRICS_TOKEN;
  if (values.METRICS_TOKEN_FILE !== undefined) {
    try {
      token = fs.readFileSync(values.METRICS_TOKEN_FILE, 'utf8').trim();
    } catch (error) {
      const problem = `METRICS_TOKEN_FILE: cannot read ${values.METRICS_TOKEN_FILE} (${(error as NodeJS.ErrnoException).code ?? String(error)})`;
      throw new ConfigError(`Invalid configuration: ${problem}`, [problem]);
    }
    if (!/^\S+$/.test(token))
      throw new ConfigError('Invalid configuration: METRICS_TOKEN_FILE: the file holds no token (or one with spaces)', ['METRICS_TOKEN_FILE']);
  }
  if (token !== undefined && tokens.some((entry) => entry.token === token)) {
    const problem = 'METRICS_TOKEN: must differ from every API and admin token';
    throw new ConfigError(`Invalid configuration: ${problem}`, [problem]);
  }
  return token;
}

/** The token lists, read once: a file that cannot be read, or a malformed entry, is a ConfigError naming the variable. */
function loadTokens(values: Env): TokenEntry[] {
  const problems: string[] = [];
  const entries: TokenEntry[] = [];
  const sources: Array<[string, string | undefined, boolean, boolean]> = [
    ['API_TOKENS', values.API_TOKENS, false, false],
    ['API_TOKENS_FILE', values.API_TOKENS_FILE, false, true],
    ['ADMIN_TOKENS', values.ADMIN_TOKENS, true, false],
    ['ADMIN_TOKENS_FILE', values.ADMIN_TOKENS_FILE, true, true],
  ];
  for (const [variable, value, admin, isFile] of sources) {
    if (value === undefined) continue;
    try {
      let text = value;
      if (isFile) {
        try {
          text = fs.readFileSync(value, 'utf8');
        } catch (error) {
          throw new Error(`cannot read ${value} (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
        }
      }
      entries.push(...parseTokenList(text, admin));
    } catch (error) {
      problems.push(`${variable}: ${(error as Error).message}`);
    }
  }
  try {
    checkTokenEntries(entries);
  } catch (error) {
    problems.push(`API_TOKENS/ADMIN_TOKENS: ${(error as Error).message}`);
  }
  if (problems.length > 0) throw new ConfigError(`Invalid configuration: ${problems.join('; ')}`, problems);
  return entries;
}

/** Reads and validates the environment. Throws a ConfigError that names every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // An empty variable means "not set", as shells and compose files often write it.
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ''));
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`Invalid configuration: ${problems.join('; ')}`, problems);
  }
  const values = parsed.data;
  const threads = values.WORKER_THREADS ?? Math.max(1, Math.floor(availableCores() / values.WORKER_PROCESSES));
  const tokens = loadTokens(values);
  return {
    ...values,
    TOKENS: tokens,
    METRICS_TOKEN: loadMetricsToken(values, tokens),
    WORKER_THREADS: threads,
    WORKER_CONCURRENCY: values.WORKER_CONCURRENCY ?? threads,
  };
}
