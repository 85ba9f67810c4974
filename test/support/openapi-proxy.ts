/**
 * A validating proxy for tests: checks each request and its answer against an OpenAPI 3.1 document
 * with a JSON Schema 2020-12 validator (ajv), as a contract-testing proxy in front of the server
 * would. It reports violations of the answer (undeclared status, media type or header, a body off
 * its schema) and of exactness: a request the document allows must not be refused as invalid, and a
 * request it refuses must not succeed.
 */
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';

type Json = Record<string, unknown>;

/** ajv-formats' plugin, typed for ESM (its CommonJS default export). */
export const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => void;

export interface Exchange {
  readonly method: string;
  /** Path and query, as sent. */
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
  readonly response: Response;
  /**
   * A request the document allows that the server refuses on purpose, for a rule JSON Schema cannot
   * state (a relation between two fields, a size over the whole body): why.
   */
  readonly gap?: string;
}

interface Operation {
  readonly id: string;
  readonly method: string;
  readonly template: string;
  readonly pattern: RegExp;
  readonly names: readonly string[];
  readonly spec: Json;
}

/**
 * Headers of HTTP itself, which OpenAPI does not declare (RFC 9110/9112: how the body is framed
 * and typed, the date); any other header an answer carries must be in the document.
 */
const FRAMING_HEADERS = new Set([
  'content-type',
  'content-length',
  'date',
  'connection',
  'keep-alive',
  'transfer-encoding',
]);

/** The statuses that mean "your request is invalid". */
const INVALID_REQUEST = new Set([400, 413, 415, 422]);

const NUMBER_TEXT = /^-?(?:0|[1-9]\d{0,15})(?:\.\d+)?$/;

export class OpenApiProxy {
  readonly violations: string[] = [];
  /** `operationId status` of every answer seen. */
  readonly seen = new Set<string>();
  private readonly ajv = new Ajv2020({ strict: false, allErrors: true });
  private readonly operations: Operation[] = [];

  constructor(document: Json) {
    addFormats(this.ajv);
    const schemas = (document.components as { schemas: Json }).schemas;
    this.ajv.addSchema({ $id: 'doc', $defs: rewriteRefs(schemas) });
    for (const [template, methods] of Object.entries(document.paths as Record<string, Json>)) {
      for (const [method, spec] of Object.entries(methods)) {
        const names = [...template.matchAll(/\{([^}]+)\}/g)].map((match) => match[1]!);
        const source = template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '([^/]+)');
        this.operations.push({
          id: (spec as Json).operationId as string,
          method,
          template,
          pattern: new RegExp(`^${source}$`),
          names,
          spec: spec as Json,
        });
      }
    }
  }

  /** Every `operationId status` the document declares. */
  declared(): string[] {
    return this.operations.flatMap((operation) =>
      Object.keys(operation.spec.responses as Json).map((status) => `${operation.id} ${status}`),
    );
  }

  /** Checks one exchange; the answer's body is read from a clone. */
  async check(exchange: Exchange): Promise<void> {
    const { response } = exchange;
    const url = new URL(exchange.url, 'http://proxy.invalid');
    const method = exchange.method.toLowerCase() === 'head' ? 'get' : exchange.method.toLowerCase();
    const label = `${exchange.method} ${exchange.url} -> ${response.status}`;
    const fail = (message: string) => this.violations.push(`${label}: ${message}`);
    const text = exchange.method === 'HEAD' ? '' : await response.clone().text();

    const requestId = response.headers.get('x-request-id');
    if (!requestId || !/^[A-Za-z0-9._:@=+/-]{1,128}$/.test(requestId)) fail('no valid X-Request-Id');

    const onPath = this.operations.filter((operation) => operation.pattern.test(url.pathname));
    const operation = onPath.find((candidate) => candidate.method === method);
    if (!operation) {
      // Not an operation of the document: only "no route" and "not this method" may answer it.
      if (onPath.length === 0 && response.status !== 404) fail('an undocumented path answered');
      if (onPath.length > 0 && (response.status !== 405 || !response.headers.get('allow'))) {
        fail('an undocumented method answered without 405 and Allow');
      }
      return;
    }
    this.seen.add(`${operation.id} ${response.status}`);

    const responses = operation.spec.responses as Record<string, Json>;
    const declared = responses[String(response.status)];
    if (!declared) {
      fail(`status not declared for ${operation.id}`);
      return;
    }
    const declaredNames = new Set(
      Object.keys((declared.headers ?? {}) as Json).map((name) => name.toLowerCase()),
    );
    for (const name of response.headers.keys()) {
      if (!FRAMING_HEADERS.has(name) && !declaredNames.has(name)) fail(`header ${name} not declared`);
    }
    for (const [name, header] of Object.entries((declared.headers ?? {}) as Record<string, Json>)) {
      const value = response.headers.get(name);
      if (value === null) {
        if (header.required) fail(`required header ${name} missing`);
        continue;
      }
      const schema = header.schema as Json;
      const typed = schema.type === 'integer' && NUMBER_TEXT.test(value) ? Number(value) : value;
      this.validate(schema, typed, `header ${name}`, fail);
    }
    const content = declared.content as Record<string, Json> | undefined;
    if (content && text.length > 0) {
      const mediaType = (response.headers.get('content-type') ?? '').split(';')[0]!.trim();
      const entry = mediaEntry(content, mediaType);
      if (!entry) fail(`media type ${mediaType} not declared`);
      else if (mediaType.endsWith('json')) {
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch {
          fail('body is not JSON');
        }
        if (body !== undefined) this.validate(entry.schema as Json, body, 'body', fail);
      }
    } else if (!content && text.length > 0) {
      fail('a body where none is declared');
    }

    const requestProblems = this.requestProblems(operation, url, exchange);
    const refusedAsInvalid = INVALID_REQUEST.has(response.status);
    if (requestProblems.length === 0 && refusedAsInvalid && !exchange.gap) {
      fail(`the document allows this request, the server refused it: ${text.slice(0, 300)}`);
    }
    if (requestProblems.length > 0 && response.status < 400) {
      fail(`the document refuses this request (${requestProblems.join('; ')}), the server accepted it`);
    }
    if (exchange.gap && !(requestProblems.length === 0 && refusedAsInvalid)) {
      fail(`marked as a gap (${exchange.gap}) but the document and the server agree`);
    }
  }

  /** What the document says is wrong with the request; empty when it allows it. */
  private requestProblems(operation: Operation, url: URL, exchange: Exchange): string[] {
    const problems: string[] = [];
    const note = (message: string) => problems.push(message);
    const values = operation.pattern.exec(url.pathname)!.slice(1);
    const parameters = (operation.spec.parameters ?? []) as Json[];
    for (const parameter of parameters) {
      const schema = parameter.schema as Json;
      const name = parameter.name as string;
      let value: string | null = null;
      if (parameter.in === 'path') value = decodeURIComponent(values[operation.names.indexOf(name)] ?? '');
      if (parameter.in === 'query') value = url.searchParams.get(name);
      if (parameter.in === 'header') {
        const key = Object.keys(exchange.headers).find(
          (header) => header.toLowerCase() === name.toLowerCase(),
        );
        value = key === undefined ? null : exchange.headers[key]!;
      }
      if (value === null) {
        if (parameter.required) note(`${name} missing`);
        continue;
      }
      const typed =
        (schema.type === 'integer' || schema.type === 'number') && NUMBER_TEXT.test(value)
          ? Number(value)
          : value;
      this.validate(schema, typed, `${parameter.in} ${name}`, note);
    }
    const requestBody = operation.spec.requestBody as Json | undefined;
    if (requestBody) {
      const contentType = Object.entries(exchange.headers).find(
        ([name]) => name.toLowerCase() === 'content-type',
      )?.[1];
      const hasBody = exchange.body !== undefined && exchange.body.length > 0;
      if (!hasBody) {
        if (requestBody.required) note('body missing');
      } else {
        const mediaType = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
        const entry = mediaEntry(requestBody.content as Record<string, Json>, mediaType);
        if (!entry) note(`body media type ${mediaType || 'none'} not declared`);
        else {
          if (mediaType.endsWith('json')) {
            try {
              this.validate(entry.schema as Json, JSON.parse(exchange.body!), 'request body', note);
            } catch {
              note('request body is not JSON');
            }
          }
        }
      }
    }
    return problems;
  }

  private validate(schema: Json, value: unknown, where: string, fail: (message: string) => void): void {
    const validator = this.ajv.compile(rewriteRefs(schema) as Json);
    if (!validator(value)) {
      fail(`${where}: ${this.ajv.errorsText(validator.errors)}`);
    }
  }
}

// The content entry for a media type: its own, or that of a range covering it (type/star, star/star).
function mediaEntry(content: Record<string, Json>, mediaType: string): Json | undefined {
  return content[mediaType] ?? content[`${mediaType.split('/')[0]}/*`] ?? content['*/*'];
}

/** `#/components/schemas/X` -> `doc#/$defs/X`, so inline schemas resolve against the document. */
export function rewriteRefs(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(rewriteRefs);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, inner]) => [
      key,
      key === '$ref' && typeof inner === 'string'
        ? inner.replace('#/components/schemas/', 'doc#/$defs/')
        : rewriteRefs(inner),
    ]),
  );
}
