import { SandboxError } from '../../core/errors.js';
import { tenantPk } from './session-item.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** `createdSk`: an ISO time with milliseconds, then the chat id. */
const CREATED_SK =
  /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z#[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * List cursors: the index position to resume from, base64url-encoded. The tenant is not in the
 * cursor; it comes from the caller, and a cursor whose item belongs to another tenant is refused.
 */
export function encodeCursor(key: Record<string, unknown>): string {
  return Buffer.from(JSON.stringify([key.pk, key.createdSk]), 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string, tenant: string): Record<string, unknown> {
  const invalid = () =>
    new SandboxError('invalid_cursor', 'The cursor is not one this API returned for you.');
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  // Both parts are checked to be exactly what encodeCursor writes: DynamoDB refuses a malformed start
  // key (an empty string, a key of another index) with an error that is not the caller's to see.
  if (
    !Array.isArray(parsed) ||
    parsed.length !== 2 ||
    typeof parsed[0] !== 'string' ||
    typeof parsed[1] !== 'string' ||
    !parsed[0].startsWith(`CHAT#${tenant}#`) ||
    !UUID.test(parsed[0].slice(`CHAT#${tenant}#`.length)) ||
    !CREATED_SK.test(parsed[1]) ||
    !parsed[1].endsWith(`#${parsed[0].slice(`CHAT#${tenant}#`.length)}`)
  ) {
    throw invalid();
  }
  return { pk: parsed[0], sk: 'SANDBOX', tenantPk: tenantPk(tenant), createdSk: parsed[1] };
}
