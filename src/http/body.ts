import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { FORBIDDEN_KEYS } from '../core/env-policy.js';
import { SandboxError } from '../core/errors.js';

export const MAX_BODY_BYTES = 64 * 1024;

/** Refuses bodies over 64 KiB before they are read in full. */
export const limitBody: MiddlewareHandler = bodyLimit({
  maxSize: MAX_BODY_BYTES,
  onError: () => {
    throw new SandboxError('payload_too_large', `The request body exceeds ${MAX_BODY_BYTES} bytes.`);
  },
});

/** `application/json`, with parameters (`; charset=utf-8`) or without; no other JSON-like type. */
const JSON_TYPE = /^application\/json\s*(;.*)?$/i;

/**
 * Whether the request carries a body: a Content-Length over 0, or a body sent without one
 * (`Transfer-Encoding: chunked`, or a Content-Type), whatever its Content-Type says.
 */
export function requestHasBody(request: Request): boolean {
  const length = request.headers.get('content-length');
  if (length !== null) return length !== '0';
  // Not `request.body`: the Node server gives every POST a body stream, an empty one too. A
  // Content-Type without a length says there is a body (a Request built in memory has no length).
  return request.headers.has('transfer-encoding') || request.headers.has('content-type');
}

/**
 * Checks the media type and parses the JSON body once (Hono caches it for the validator), so wrong
 * types answer 415 and broken JSON 400 before schema validation. With `optional`, a request without
 * a body passes.
 */
export function jsonBody(options: { optional: boolean }): MiddlewareHandler {
  return async (c, next) => {
    const contentType = c.req.header('content-type');
    const length = c.req.header('content-length');
    const hasBody = requestHasBody(c.req.raw);
    if (!hasBody && options.optional) return next();
    if (!contentType || !JSON_TYPE.test(contentType)) {
      throw new SandboxError('unsupported_media_type', 'Send the body as application/json.');
    }
    if (options.optional && length === '0') return next();
    let body: unknown;
    try {
      body = await c.req.json();
    } catch (error) {
      if (error instanceof SandboxError) throw error;
      throw new SandboxError('malformed_json', 'The request body is not valid JSON.');
    }
    const forbidden = forbiddenKeyPaths(body);
    if (forbidden.length > 0) {
      throw new SandboxError('validation_failed', 'The request body is invalid.', {
        errors: forbidden.map((path) => ({ path, message: `keys must not be ${FORBIDDEN_KEYS.join(', ')}` })),
      });
    }
    return next();
  };
}

/**
 * Paths of object keys JavaScript treats specially (`__proto__`, `constructor`, `prototype`),
 * anywhere in a parsed body. JSON.parse keeps them as plain keys, but schema parsing would drop
 * `__proto__` silently and the DynamoDB marshaller mistakes an object with a `constructor` for a
 * class instance, so they are refused before either sees them.
 */
export function forbiddenKeyPaths(body: unknown): string[] {
  interface Step {
    readonly key: string;
    readonly parent: Step | null;
  }
  const pathOf = (last: Step): string => {
    const keys: string[] = [];
    for (let step: Step | null = last; step; step = step.parent) keys.push(step.key);
    return keys.reverse().join('.');
  };
  const found: string[] = [];
  // Iterative, with paths as parent links: a 64 KiB body can nest tens of thousands of levels deep.
  const pending: [unknown, Step | null][] = [[body, null]];
  for (let next = pending.pop(); next; next = pending.pop()) {
    const [value, at] = next;
    if (typeof value !== 'object' || value === null) continue;
    for (const key of Object.keys(value)) {
      const step = { key, parent: at };
      if (FORBIDDEN_KEYS.includes(key)) found.push(pathOf(step));
      pending.push([(value as Record<string, unknown>)[key], step]);
    }
  }
  return found;
}
