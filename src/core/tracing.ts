/**
 * OpenTelemetry tracing: off unless the standard `OTEL_*` variables turn it on, and then one trace per
 * workload, from its submission through every chunk to its items' recording.
 *
 *   chunkmill.submit (producer)                      the root; its context goes into every chunk's job data
 *   └─ chunkmill.chunk (worker, one per attempt)     parent: the submit span, read from `data.trace`
 *      ├─ chunkmill.items                            running the chunk's items (thread pool or requests)
 *      │  └─ chunkmill.item                          one per fetch request or array item
 *      └─ chunkmill.record                           writing the outcomes to the workload store
 *
 * The context travels in the job data (`data.trace`: W3C `traceparent`/`tracestate`), written once at
 * submission into every chunk's payload, so that chunks fed later from the workload's hash (chunk-feeder.ts,
 * in any worker process, or re-added by the reconciler) carry the same context as the first window.
 *
 * On: `OTEL_TRACES_EXPORTER` names an exporter other than `none` (otlp, console, zipkin), or
 * `OTEL_EXPORTER_OTLP_ENDPOINT` / `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is set; never with
 * `OTEL_SDK_DISABLED=true`. An empty variable counts as unset (compose writes them so). The rest of the
 * SDK's variables (protocol, headers, sampler, batch delays, resource attributes) are the SDK's own.
 * Only the producer and the worker processes trace (`chunkmill-producer`, `chunkmill-worker` unless
 * `OTEL_SERVICE_NAME` says otherwise); traces only: chunkmill's metrics are Prometheus's.
 *
 * Off, the SDK is never loaded (required lazily here), jobs carry no `trace` field, and the hot path
 * pays one boolean test per chunk and per span site.
 */
import cluster from 'node:cluster';
import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, TraceFlags, type Attributes, type Context, type Span } from '@opentelemetry/api';
import type { SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { timeLimit } from './time-limit';

/** The W3C trace context a chunk job carries (`data.trace`). */
export interface TraceCarrier {
  traceparent: string;
  tracestate?: string;
}

/** The roles that make spans, and their default service names. */
const SERVICE_NAMES: Record<string, string> = { producer: 'chunkmill-producer', worker: 'chunkmill-worker' };

/** How long the SDK's shutdown (the last spans' export) may hold up a process's exit. */
const SHUTDOWN_WAIT_MS = 5_000;
/**
 * The same in a worker host's child process, which the host kills SHUTDOWN_GRACE_MS + 5 s after its
 * SIGTERM (cluster-supervisor.ts). Before the flush, the child spends at most the grace period plus
 * 2 s handing chunks back and closing Redis (worker-process.ts's HAND_BACK_MS) and 2 s sending its final
 * metrics (cluster-metrics.ts): grace + 4 s. The flush's 500 ms then ends with half a second to spare.
 * It is the export of the spans still buffered (a batch delay's worth, the last chunks' spans): one
 * request, short unless the collector is unreachable, when it is given up on.
 */
const CHILD_SHUTDOWN_WAIT_MS = 500;

const TRACER_NAME = 'chunkmill';

let sdk: { shutdown(): Promise<void> } | undefined;
let on = false;
let workerIdentity: string | undefined;

const setting = (env: NodeJS.ProcessEnv, name: string): string | undefined => {
  const value = env[name]?.trim();
  return value ? value : undefined;
};

/** Whether the standard variables turn tracing on (see the file's comment). */
export function tracingWanted(env: NodeJS.ProcessEnv = process.env): boolean {
  if (setting(env, 'OTEL_SDK_DISABLED')?.toLowerCase() === 'true') return false;
  const exporters = setting(env, 'OTEL_TRACES_EXPORTER');
  if (exporters !== undefined) {
    return exporters
      .split(',')
      .map((name) => name.trim().toLowerCase())
      .some((name) => name !== '' && name !== 'none');
  }
  return setting(env, 'OTEL_EXPORTER_OTLP_ENDPOINT') !== undefined || setting(env, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT') !== undefined;
}

export interface StartTracingOptions {
  env?: NodeJS.ProcessEnv;
  /** This worker host's id (WORKER_ID): a resource attribute and an attribute of every chunk span. */
  workerId?: string;
  /** Span processors instead of the exporters the variables name (tests: an in-memory exporter). */
  spanProcessors?: SpanProcessor[];
}

/**
 * Starts the OpenTelemetry Node SDK for `role` when the variables turn tracing on (or `spanProcessors`
 * are given) and the role makes spans; answers whether tracing is on. Call once, before the role starts.
 */
export function startTracing(role: string, options: StartTracingOptions = {}): boolean {
  const env = options.env ?? process.env;
  const serviceName = SERVICE_NAMES[role];
  if (on || serviceName === undefined) return on;
  if (options.spanProcessors === undefined && !tracingWanted(env)) return false;
  if (setting(env, 'OTEL_SDK_DISABLED')?.toLowerCase() === 'true') return false;
  // Loaded here only: a process with tracing off never loads the SDK.
  const { NodeSDK } = require('@opentelemetry/sdk-node') as typeof import('@opentelemetry/sdk-node');
  const { resourceFromAttributes } = require('@opentelemetry/resources') as typeof import('@opentelemetry/resources');
  const named = setting(env, 'OTEL_SERVICE_NAME') !== undefined || /(^|,)\s*service\.name\s*=/.test(env.OTEL_RESOURCE_ATTRIBUTES ?? '');
  workerIdentity = role === 'worker' ? options.workerId : undefined;
  const started = new NodeSDK({
    serviceName: named ? undefined : serviceName,
    resource: resourceFromAttributes({ 'chunkmill.role': role, ...(workerIdentity ? { 'chunkmill.worker.id': workerIdentity } : {}) }),
    spanProcessors: options.spanProcessors,
    // Traces only: no OTLP metrics or logs (OTEL_METRICS_EXPORTER / OTEL_LOGS_EXPORTER default to otlp in the SDK).
    metricReaders: [],
    logRecordProcessors: [],
  });
  started.start();
  sdk = started;
  on = true;
  return true;
}

/** Ends tracing: the spans still buffered are exported (for SHUTDOWN_WAIT_MS at most). Nothing when it is off. */
export async function stopTracing(): Promise<void> {
  const stopping = sdk;
  if (!stopping) return;
  sdk = undefined;
  on = false;
  workerIdentity = undefined;
  await timeLimit(
    stopping.shutdown().catch(() => undefined),
    cluster.isWorker ? CHILD_SHUTDOWN_WAIT_MS : SHUTDOWN_WAIT_MS,
    undefined,
  );
}

/** Text that may hold URLs (an absolute one, scheme://…). */
const URL_IN_TEXT = /\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>`),]*/gi;
/** A query or fragment left in the text (a relative URL): `?…` or `#…` up to the next space. */
const QUERY_IN_TEXT = /[?#][^\s"'<>`]+/g;

/**
 * `message` fit for a span: every URL reduced to its origin (scheme://host:port, no user info, path, query
 * or fragment: a URL's query may carry a key), and whatever query or fragment of a relative URL is left,
 * cut off. Spans go to a collector that the workloads' owners do not own.
 */
export function urlsAsOrigins(message: string): string {
  return message
    .replace(URL_IN_TEXT, (found) => {
      try {
        const { origin } = new URL(found);
        if (origin !== 'null') return origin;
      } catch {
        // Not a URL WHATWG can read: its scheme and host part as they are written.
      }
      const scheme = found.slice(0, found.indexOf('://') + 3);
      const authority = found.slice(scheme.length).split(/[/?#\\]/)[0] ?? '';
      return scheme + authority.slice(authority.lastIndexOf('@') + 1);
    })
    .replace(QUERY_IN_TEXT, '');
}

/** What a span records of an error: its code (an ItemError's, else its name) and its message, URLs as origins. No stack. */
function spanException(error: unknown): { name: string; code?: string; message: string } {
  if (!(error instanceof Error)) return { name: 'Error', message: urlsAsOrigins(String(error)) };
  const code = (error as { code?: unknown }).code;
  return { name: error.name, ...(typeof code === 'string' ? { code } : {}), message: urlsAsOrigins(error.message) };
}

/** True once startTracing has started the SDK in this process. */
export function tracingOn(): boolean {
  return on;
}

/** The WORKER_ID given to startTracing (worker processes only). */
export function tracedWorkerId(): string | undefined {
  return workerIdentity;
}

/**
 * The current span's context as a job carries it, or undefined when tracing is off, no span is active,
 * or it is not sampled (its children would not be either): the job then has no `trace` field.
 */
export function currentTraceCarrier(): TraceCarrier | undefined {
  if (!on) return undefined;
  const active = context.active();
  const span = trace.getSpan(active);
  if (!span || (span.spanContext().traceFlags & TraceFlags.SAMPLED) === 0) return undefined;
  const carrier: Partial<TraceCarrier> = {};
  propagation.inject(active, carrier);
  return carrier.traceparent ? (carrier as TraceCarrier) : undefined;
}

/** Runs `run` inside a new root span (the workload's trace); only `run` when tracing is off. */
export function inRootSpan<T>(name: string, kind: SpanKind, attributes: Attributes, run: () => Promise<T>): Promise<T> {
  if (!on) return run();
  return inSpan(ROOT_CONTEXT, name, kind, attributes, () => run());
}

/**
 * Runs `run` inside a span that continues the trace a job carries (`carrier`); only `run` when tracing
 * is off or the job carries none.
 */
export function inCarriedSpan<T>(
  carrier: TraceCarrier | undefined,
  name: string,
  kind: SpanKind,
  attributes: Attributes,
  run: (span?: Span) => Promise<T>,
  /** Whether an error `run` throws fails the span (not, say, a chunk handed back to the queue). @defaultValue every error */
  isFailure?: (error: unknown) => boolean,
): Promise<T> {
  if (!on || !carrier) return run();
  return inSpan(propagation.extract(ROOT_CONTEXT, carrier), name, kind, attributes, run, isFailure);
}

/** Runs `run` inside a child of the active span, when there is one that records; otherwise only `run`. */
export function inChildSpan<T>(name: string, attributes: Attributes, run: (span?: Span) => Promise<T>): Promise<T> {
  if (!on) return run();
  const active = context.active();
  if (!trace.getSpan(active)?.isRecording()) return run();
  return inSpan(active, name, SpanKind.INTERNAL, attributes, run);
}

/** Sets attributes on the active span (nothing when tracing is off or no span is active). */
export function setSpanAttributes(attributes: Attributes): void {
  if (on) trace.getActiveSpan()?.setAttributes(attributes);
}

async function inSpan<T>(
  parent: Context,
  name: string,
  kind: SpanKind,
  attributes: Attributes,
  run: (span: Span) => Promise<T>,
  isFailure: (error: unknown) => boolean = () => true,
): Promise<T> {
  const span = trace.getTracer(TRACER_NAME).startSpan(name, { kind, attributes }, parent);
  try {
    return await context.with(trace.setSpan(parent, span), () => run(span));
  } catch (error) {
    if (!isFailure(error)) throw error;
    // Not the error itself: its message may hold a URL with a key, its stack a path (see spanException).
    const exception = spanException(error);
    span.recordException(exception);
    span.setStatus({ code: SpanStatusCode.ERROR, message: exception.message });
    throw error;
  } finally {
    span.end();
  }
}
