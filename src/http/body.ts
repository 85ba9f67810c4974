import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { SandboxError } from '../core/errors.js';

export const MAX_BODY_BYTES = 64 * 1024;

/** Refuses bodies over 64 KiB before they are read in full. */
export const limitBody: MiddlewareHandler = bodyLimit({
  maxSize: MAX_BODY_BYTES,
  onError: () => {
    throw new SandboxError('payload_too_large', `The request body exceeds ${MAX_BODY_BYTES} bytes.`);
  },
});

const JSON_TYPE = /^application\/([a-z0-9.+-]+\+)?json(\s*;.*)?$/i;

/**
 * Checks the media type and parses the JSON body once (Hono caches it for the validator), so wrong
 * types answer 415 and broken JSON 400 before schema validation. With `optional`, a request without
 * a body passes.
 */
export function jsonBody(options: { optional: boolean }): MiddlewareHandler {
  return async (c, next) => {
    const contentType = c.req.header('content-type');
    const length = c.req.header('content-length');
    const hasBody = contentType !== undefined || (length !== undefined && length !== '0');
    if (!hasBody && options.optional) return next();
    if (!contentType || !JSON_TYPE.test(contentType)) {
      throw new SandboxError('unsupported_media_type', 'Send the body as application/json.');
    }
    if (options.optional && length === '0') return next();
    try {
      await c.req.json();
    } catch (error) {
      if (error instanceof SandboxError) throw error;
      throw new SandboxError('malformed_json', 'The request body is not valid JSON.');
    }
    return next();
  };
}
