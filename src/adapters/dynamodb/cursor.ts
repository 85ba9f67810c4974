import { SandboxError } from '../../core/errors.js';
import { tenantPk } from './session-item.js';

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
  if (
    !Array.isArray(parsed) ||
    parsed.length !== 2 ||
    typeof parsed[0] !== 'string' ||
    typeof parsed[1] !== 'string' ||
    !parsed[0].startsWith(`CHAT#${tenant}#`)
  ) {
    throw invalid();
  }
  return { pk: parsed[0], sk: 'SANDBOX', tenantPk: tenantPk(tenant), createdSk: parsed[1] };
}
