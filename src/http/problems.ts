/**
 * RFC 9457 problem details from the one error catalogue. 4xx bodies say what was wrong; 5xx bodies
 * say nothing internal (the log line keeps the detail).
 */
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { ErrorCode, FieldError, SandboxError } from '../core/errors.js';

export const ERROR_STATUS_MAP: Record<ErrorCode, ContentfulStatusCode> = {
  validation_failed: 422,
  malformed_json: 400,
  payload_too_large: 413,
  unsupported_media_type: 415,
  unauthorized: 401,
  misdirected_request: 421,
  route_not_found: 404,
  method_not_allowed: 405,
  sandbox_not_found: 404,
  chat_not_found: 404,
  chat_file_not_found: 404,
  precondition_failed: 412,
  range_not_satisfiable: 416,
  workspace_quota_exceeded: 413,
  sandbox_conflict: 409,
  owner_conflict: 409,
  chat_has_active_sandbox: 409,
  chat_purging: 409,
  quota_exceeded: 429,
  unknown_profile: 422,
  invalid_cursor: 422,
  launch_failed: 503,
  capacity_unavailable: 503,
  logs_unavailable: 503,
  internal_error: 500,
};

const TITLES: Record<ErrorCode, string> = {
  validation_failed: 'The request is invalid',
  malformed_json: 'The request body is not valid JSON',
  payload_too_large: 'The request body is too large',
  unsupported_media_type: 'The request body must be application/json',
  unauthorized: 'Authentication required',
  misdirected_request: 'This server does not answer for that host name',
  route_not_found: 'No such route',
  method_not_allowed: 'The route does not take this method',
  sandbox_not_found: 'Sandbox not found',
  chat_not_found: 'Chat not found',
  chat_file_not_found: 'File not found',
  precondition_failed: 'A precondition of the request does not hold',
  range_not_satisfiable: 'The range is outside the file',
  workspace_quota_exceeded: 'Storage quota exceeded',
  sandbox_conflict: 'The chat has a sandbox for another agent or profile',
  owner_conflict: 'The chat belongs to another owner',
  chat_has_active_sandbox: 'The chat has a live sandbox',
  chat_purging: 'The chat is being purged',
  quota_exceeded: 'Live sandbox limit reached',
  unknown_profile: 'Unknown sandbox profile',
  invalid_cursor: 'Invalid cursor',
  launch_failed: 'The sandbox could not be started',
  capacity_unavailable: 'Capacity unavailable',
  logs_unavailable: 'Sandbox logs unavailable',
  internal_error: 'Internal error',
};

const GENERIC_DETAIL = 'The request could not be completed.';
const SERVER_DETAILS: Partial<Record<ErrorCode, string>> = {
  launch_failed: 'The sandbox could not be started. Retry later.',
  capacity_unavailable: 'The chat is busy or capacity is unavailable. Retry later.',
  logs_unavailable: 'The sandbox logs cannot be read right now. Retry later.',
};

export interface Problem {
  type: string;
  title: string;
  status: number;
  code: ErrorCode;
  detail: string;
  errors?: readonly FieldError[];
  /** Extension members (`limit` of a 429). */
  [member: string]: unknown;
}

export function problemType(code: ErrorCode): string {
  return `urn:problem-type:agent-sandbox:${code}`;
}

export function problemOf(error: SandboxError): Problem {
  const status = ERROR_STATUS_MAP[error.code];
  return {
    type: problemType(error.code),
    title: TITLES[error.code],
    status,
    code: error.code,
    // 5xx details are fixed text: whatever caused them stays in the logs.
    detail: status >= 500 ? (SERVER_DETAILS[error.code] ?? GENERIC_DETAIL) : error.detail,
    ...(error.options.errors ? { errors: error.options.errors } : {}),
    ...(status < 500 ? error.options.extra : {}),
  };
}

/** Writes the problem response for an error, with `Retry-After` where the error carries one. */
export function problemResponse(c: Context, error: SandboxError): Response {
  const problem = problemOf(error);
  c.set('problemCode', error.code);
  const headers: Record<string, string> = { 'Content-Type': 'application/problem+json' };
  if (error.options.retryAfterSeconds !== undefined)
    headers['Retry-After'] = String(error.options.retryAfterSeconds);
  return c.body(JSON.stringify(problem), ERROR_STATUS_MAP[error.code], headers);
}
