/**
 * Checks what the producer answers against its own OpenAPI document (ajv, JSON Schema draft 2020-12):
 * the operation is found by method and templated path, the response by status (or `default`), the
 * schema by content type. A JSON body is validated whole, an NDJSON body line by line (each line against
 * the `application/x-ndjson` schema: ResultsLine), an event stream event by event (each event's data
 * against the schema its name maps to in the response's `x-event-data`).
 *
 * ApiClient (and so both harnesses) validates every answer it receives; `validatingFetch` does the same
 * for the SDK's Pool. A path the document does not describe (the dashboard, /metrics) is not checked.
 */
import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020';
import { buildOpenApiDocument } from '../../src/producer/openapi';

interface Operation {
  responses: Record<string, { content?: Record<string, { schema?: unknown }>; 'x-event-data'?: Record<string, { $ref: string }> }>;
}
type OpenApiDocument = { paths: Record<string, Record<string, Operation>> };

export interface Answer {
  method: string;
  /** The request's path, with or without its query string. */
  path: string;
  status: number;
  /** The Content-Type header, if any. */
  contentType: string | null;
  /** The body as text. */
  text: string;
}

export class OpenApiViolation extends Error {
  override name = 'OpenApiViolation';
}

/** `/v1/workloads/{id}` as a RegExp matching `/v1/workloads/abc`. */
function templateRegExp(template: string): RegExp {
  const segments = template.split('/').map((segment) => (/^\{[^}]+\}$/.test(segment) ? '[^/]+' : segment.replace(/[.*+?^$()|[\]\\{}]/g, '\\$&')));
  return new RegExp(`^${segments.join('/')}$`);
}

/** A JSON pointer segment, ready for a URI fragment. */
const pointer = (segment: string): string => encodeURIComponent(segment.replace(/~/g, '~0').replace(/\//g, '~1'));

/** Each `event: name` / `data: ...` block of an event stream (comments and keep-alives skipped). */
export function parseEventStream(text: string): Array<{ event: string; data: string }> {
  const events: Array<{ event: string; data: string }> = [];
  for (const block of text.split(/\r?\n\r?\n/)) {
    let event = 'message';
    const data: string[] = [];
    for (const line of block.split(/\r?\n/)) {
      if (line.startsWith('event:')) event = line.slice(6).trim();
      else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
    }
    if (data.length > 0) events.push({ event, data: data.join('\n') });
  }
  return events;
}

export class OpenApiValidator {
  private readonly ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
  private readonly templates: Array<{ template: string; pattern: RegExp }>;
  private readonly compiled = new Map<string, ValidateFunction>();

  constructor(readonly document: OpenApiDocument) {
    this.ajv.addSchema(document as object, 'openapi.json');
    // Literal paths before templated ones (`/v1/workloads` is not `/v1/workloads/{id}`).
    this.templates = Object.keys(document.paths)
      .map((template) => ({ template, pattern: templateRegExp(template) }))
      .sort((a, b) => a.template.split('{').length - b.template.split('{').length);
  }

  /** The document's template for a concrete path, or undefined when the document does not describe it. */
  templateOf(path: string): string | undefined {
    const bare = path.split('?')[0];
    return this.templates.find(({ pattern }) => pattern.test(bare))?.template;
  }

  /**
   * The documented response an answer's status selects (undefined: a path or method the document does not
   * describe); throws when the status is not documented for the operation.
   */
  private responseOf(answer: Omit<Answer, 'text'>): { template: string; statusKey: string; response: Operation['responses'][string] } | undefined {
    const template = this.templateOf(answer.path);
    if (!template) return undefined;
    const where = `${answer.method.toUpperCase()} ${answer.path} → ${answer.status}`;
    const method = answer.method.toLowerCase();
    const operation = this.document.paths[template][method];
    if (!operation) {
      // A method the API does not have: the router's plain 404 (or 405) is no operation's answer.
      if (answer.status === 404 || answer.status === 405) return undefined;
      throw new OpenApiViolation(`${where}: the document has no ${method.toUpperCase()} ${template}`);
    }
    const statusKey = String(answer.status) in operation.responses ? String(answer.status) : 'default';
    const response = operation.responses[statusKey];
    if (!response) {
      throw new OpenApiViolation(
        `${where}: status ${answer.status} is not documented for ${method.toUpperCase()} ${template} (${Object.keys(operation.responses).join(', ')})`,
      );
    }
    return { template, statusKey, response };
  }

  /** Throws when a media type is not one the response documents. */
  private mediaTypeOf(answer: Omit<Answer, 'text'>, content: Record<string, unknown>): string {
    const mediaType = (answer.contentType ?? '').split(';')[0].trim().toLowerCase();
    if (!(mediaType in content)) {
      const where = `${answer.method.toUpperCase()} ${answer.path} → ${answer.status}`;
      throw new OpenApiViolation(`${where}: Content-Type ${mediaType || '(none)'} is not documented (${Object.keys(content).join(', ')})`);
    }
    return mediaType;
  }

  /**
   * What can be checked before the body is read (a stream's status and media type, as soon as its headers
   * are in): throws an OpenApiViolation when the status, or the media type of a body, is not documented.
   */
  checkHead(answer: Omit<Answer, 'text'>): void {
    const found = this.responseOf(answer);
    if (found?.response.content && answer.contentType) this.mediaTypeOf(answer, found.response.content);
  }

  /** Throws an OpenApiViolation when the answer is not what the document says the operation answers. */
  check(answer: Answer): void {
    const found = this.responseOf(answer);
    if (!found) return;
    const { template, statusKey, response } = found;
    const where = `${answer.method.toUpperCase()} ${answer.path} → ${answer.status}`;
    const method = answer.method.toLowerCase();
    if (!response.content || answer.text.length === 0) {
      if (response.content && method !== 'head')
        throw new OpenApiViolation(`${where}: an empty body, but the document promises ${Object.keys(response.content).join(', ')}`);
      return;
    }
    const mediaType = this.mediaTypeOf(answer, response.content);
    const schemaAt = `#/paths/${pointer(template)}/${method}/responses/${statusKey}/content/${pointer(mediaType)}/schema`;
    if (mediaType === 'application/json') this.validate(schemaAt, parse(answer.text, where), where);
    else if (mediaType === 'application/x-ndjson') {
      const lines = answer.text.split('\n').filter((line) => line.trim() !== '');
      for (const [index, line] of lines.entries()) this.validate(schemaAt, parse(line, `${where}, line ${index + 1}`), `${where}, line ${index + 1}`);
    } else if (mediaType === 'text/event-stream') {
      const eventData = response['x-event-data'] ?? {};
      for (const { event, data } of parseEventStream(answer.text)) {
        const ref = eventData[event];
        if (!ref) throw new OpenApiViolation(`${where}: event "${event}" is not documented (${Object.keys(eventData).join(', ')})`);
        this.validate(ref.$ref, parse(data, `${where}, event ${event}`), `${where}, event ${event}`);
      }
    }
  }

  /** Validates `value` against the schema at `ref` (a fragment of the document), or throws. */
  validate(ref: string, value: unknown, where: string): void {
    let validate = this.compiled.get(ref);
    if (!validate) {
      validate = this.ajv.getSchema(`openapi.json${ref}`);
      if (!validate) throw new OpenApiViolation(`${where}: no schema at ${ref}`);
      this.compiled.set(ref, validate);
    }
    if (!validate(value)) {
      const shown = JSON.stringify(value);
      throw new OpenApiViolation(
        `${where}: the answer does not match the OpenAPI document (${ref}): ${this.ajv.errorsText(validate.errors, { separator: '; ' })}\n` +
          `  answer: ${shown.length > 500 ? `${shown.slice(0, 500)}…` : shown}`,
      );
    }
  }
}

function parse(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new OpenApiViolation(`${where}: not JSON: ${text.slice(0, 200)}`);
  }
}

let shared: OpenApiValidator | undefined;

/**
 * One validator for the producer's document (answers do not depend on the producer's configuration).
 * Made on first use, not before: the document lists the tasks, and loading the task registry early
 * would miss the task modules a harness names (CHUNKMILL_TASK_MODULES) when it starts.
 */
export function openApiValidator(): OpenApiValidator {
  shared ??= new OpenApiValidator(buildOpenApiDocument({ maxItemsPerWorkload: 100_000 }) as unknown as OpenApiDocument);
  return shared;
}

/**
 * A `fetch` for the SDK's Pool that checks every answer against the document: a JSON answer before the
 * Pool sees it (a mismatch rejects the call), a stream (NDJSON, events) once it has ended, as read
 * through a copy (a stream the reader cancels before its end is not checked), any other answer of a
 * documented path (bytes, HTML, an empty 204) by status and media type; its mismatches land in
 * `violations` (assert it stays empty). Usable as a test file's `fetch`: paths the document does not
 * describe pass through unchecked.
 */
export function validatingFetch(given?: OpenApiValidator, inner: typeof fetch = globalThis.fetch): typeof fetch & { violations: Error[] } {
  const violations: Error[] = [];
  const wrapped = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const response = await inner(input, init);
    const validator = given ?? openApiValidator();
    const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
    const method = init?.method ?? (input instanceof Request ? input.method : 'GET');
    const contentType = response.headers.get('content-type');
    const base = { method, path: `${url.pathname}${url.search}`, status: response.status, contentType };
    if (/^application\/json/.test(contentType ?? '') || response.status >= 400) {
      const text = await response.clone().text();
      try {
        validator.check({ ...base, text });
      } catch (error) {
        violations.push(error as Error);
        throw error;
      }
    } else if (/^(application\/x-ndjson|text\/event-stream)/.test(contentType ?? '') && response.body) {
      // Its status and media type at once; its lines or events passed through as they arrive, checked when it
      // ends. A stream the reader cancels closes as before (and what it carried so far is not checked).
      try {
        validator.checkHead(base);
      } catch (error) {
        violations.push(error as Error);
        await response.body.cancel().catch(() => undefined);
        throw error;
      }
      const decoder = new TextDecoder();
      let text = '';
      const tap = new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          text += decoder.decode(chunk, { stream: true });
          controller.enqueue(chunk);
        },
        flush() {
          try {
            validator.check({ ...base, text });
          } catch (error) {
            violations.push(error as Error);
          }
        },
      });
      return new Response(response.body.pipeThrough(tap), { status: response.status, statusText: response.statusText, headers: response.headers });
    } else if (validator.templateOf(url.pathname) !== undefined) {
      // Any other answer the document describes (an array's bytes, a 204, the docs page): its status and media type, read through a copy.
      const text = method.toUpperCase() === 'HEAD' ? '' : await response.clone().text();
      try {
        validator.check({ ...base, text });
      } catch (error) {
        violations.push(error as Error);
        throw error;
      }
    }
    return response;
  };
  return Object.assign(wrapped as typeof fetch, { violations });
}
