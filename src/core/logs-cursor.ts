/**
 * Log cursors: a session id and a backend position, base64url-encoded with a tag that binds both to
 * the tenant and the chat. A cursor is accepted only in the exact form `encodeLogCursor` writes and
 * only with the tenant and chat it was written for, so a cursor of another chat or tenant, or one
 * edited by hand, is refused before any backend sees its position.
 *
 * The tag is a SHA-256 digest, not a keyed MAC (the AWS functions hold no secret to key it with).
 * That is enough here: the log a request reads is always chosen from the authenticated tenant and the
 * chat in the path, never from the cursor, so a cursor computed by hand could only name a position
 * in the caller's own session's log.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { SandboxError } from './errors.js';
import type { ChatKey } from './model.js';

const VERSION = 1;
/** Session ids this control plane writes: UUIDs; kept a little wider so ids of tests fit too. */
const SESSION_ID = /^[A-Za-z0-9][A-Za-z0-9-]{0,127}$/;
/** Backend positions: a byte offset locally, a CloudWatch token plus a count on AWS. */
const POSITION = /^[A-Za-z0-9/+=:_-]{1,1024}$/;
const TAG = /^[A-Za-z0-9_-]{22}$/;

export interface LogCursor {
  readonly sessionId: string;
  readonly position: string;
}

function tagOf(key: ChatKey, cursor: LogCursor): string {
  return createHash('sha256')
    .update(
      JSON.stringify([
        'sandbox-logs-cursor',
        VERSION,
        key.tenant,
        key.chatId,
        cursor.sessionId,
        cursor.position,
      ]),
    )
    .digest('base64url')
    .slice(0, 22);
}

/** The opaque cursor for `cursor` of the chat `key`. */
export function encodeLogCursor(key: ChatKey, cursor: LogCursor): string {
  if (!SESSION_ID.test(cursor.sessionId) || !POSITION.test(cursor.position)) {
    throw new Error('a log position or session id outside the cursor alphabet');
  }
  const body = [VERSION, cursor.sessionId, cursor.position, tagOf(key, cursor)];
  return Buffer.from(JSON.stringify(body), 'utf8').toString('base64url');
}

/** Reads a cursor of the chat `key`; throws 422 `invalid_cursor` for anything `encodeLogCursor` did not write for it. */
export function decodeLogCursor(key: ChatKey, text: string): LogCursor {
  const invalid = () =>
    new SandboxError('invalid_cursor', 'The cursor is not one this API returned for this chat.');
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  if (
    !Array.isArray(parsed) ||
    parsed.length !== 4 ||
    parsed[0] !== VERSION ||
    typeof parsed[1] !== 'string' ||
    typeof parsed[2] !== 'string' ||
    typeof parsed[3] !== 'string' ||
    !SESSION_ID.test(parsed[1]) ||
    !POSITION.test(parsed[2]) ||
    !TAG.test(parsed[3])
  ) {
    throw invalid();
  }
  const cursor = { sessionId: parsed[1], position: parsed[2] };
  const expected = Buffer.from(tagOf(key, cursor));
  if (!timingSafeEqual(expected, Buffer.from(parsed[3]))) throw invalid();
  // Only the one spelling: base64url without padding or stray characters decodes to the same bytes.
  if (encodeLogCursor(key, cursor) !== text) throw invalid();
  return cursor;
}
