/**
 * What the client throws. An answer the API refused is a `SandboxApiError`, of the subclass of its
 * problem code's family, so callers can `instanceof` (or narrow with `isApiError`); a request that got
 * no answer is a `NetworkError`; `waitUntilRunning` ends with a `SandboxWaitError`.
 */
import type { ErrorCode, FieldError, Problem, QuotaLimit, Sandbox } from './types.js';

/** A problem code, or `unexpected_response` for an answer that was not the API's (a proxy's, a gateway's). */
export type ApiErrorCode = ErrorCode | 'unexpected_response';

/** What an error answer said, as the client read it. */
export interface ApiErrorInit {
  readonly status: number;
  readonly code: ApiErrorCode;
  readonly detail: string;
  /** The problem body when the answer was one; null otherwise. */
  readonly problem: Problem | null;
  readonly retryAfterSeconds: number | null;
  readonly requestId: string | null;
}

/** An answer of the API that was not a success. */
export class SandboxApiError extends Error {
  readonly status: number;
  readonly code: ApiErrorCode;
  readonly detail: string;
  readonly problem: Problem | null;
  /** Field errors of a 422 (empty otherwise). */
  readonly errors: readonly FieldError[];
  /** `Retry-After` of the answer in seconds, when it had one (429, 503). */
  readonly retryAfterSeconds: number | null;
  /** `X-Request-Id` (or API Gateway's `x-amzn-RequestId`) of the answer, for support. */
  readonly requestId: string | null;

  constructor(init: ApiErrorInit) {
    super(`${init.status} ${init.code}: ${init.detail}`);
    this.name = new.target.name;
    this.status = init.status;
    this.code = init.code;
    this.detail = init.detail;
    this.problem = init.problem;
    this.errors = init.problem?.errors ?? [];
    this.retryAfterSeconds = init.retryAfterSeconds;
    this.requestId = init.requestId;
  }
}

/** The request itself was refused: malformed JSON, too large, wrong media type or method, wrong host. */
export class InvalidRequestError extends SandboxApiError {}
/** 422 `validation_failed`, `unknown_profile` or `invalid_cursor`; `errors` names each field. */
export class ValidationError extends InvalidRequestError {}
/** 401 `unauthorized`, or API Gateway's own 403 for a missing or wrong signature. */
export class UnauthorizedError extends SandboxApiError {}
/** 404 `sandbox_not_found`, `chat_not_found`, `chat_file_not_found` or `route_not_found`. */
export class NotFoundError extends SandboxApiError {}
/** 409 `sandbox_conflict` (another agent or profile holds the chat) or `owner_conflict`. */
export class ConflictError extends SandboxApiError {}
/** 412 `precondition_failed`: `If-None-Match: *` found a file, or `If-Match` another version. */
export class PreconditionFailedError extends SandboxApiError {}
/** 413 `workspace_quota_exceeded`: the owner's chats hold too many bytes; free some first. */
export class StorageQuotaExceededError extends SandboxApiError {}
/** 429 `quota_exceeded`: `limit` says which limit, its value and the live count. */
export class QuotaExceededError extends SandboxApiError {
  readonly limit: QuotaLimit | null;
  constructor(init: ApiErrorInit) {
    super(init);
    this.limit = init.problem?.limit ?? null;
  }
}
/** 503 `launch_failed`, `capacity_unavailable` or `logs_unavailable`, or a throttling or gateway answer. */
export class UnavailableError extends SandboxApiError {}
/** 500 `internal_error`, or another 5xx that was not the API's. */
export class ServerError extends SandboxApiError {}

type ApiErrorClass = new (init: ApiErrorInit) => SandboxApiError;

/** The class of each code: a code added to the catalogue without a class here does not compile. */
const CLASS_OF_CODE: Record<ErrorCode, ApiErrorClass> = {
  validation_failed: ValidationError,
  unknown_profile: ValidationError,
  invalid_cursor: ValidationError,
  malformed_json: InvalidRequestError,
  payload_too_large: InvalidRequestError,
  unsupported_media_type: InvalidRequestError,
  misdirected_request: InvalidRequestError,
  method_not_allowed: InvalidRequestError,
  unauthorized: UnauthorizedError,
  route_not_found: NotFoundError,
  sandbox_not_found: NotFoundError,
  chat_not_found: NotFoundError,
  chat_file_not_found: NotFoundError,
  precondition_failed: PreconditionFailedError,
  range_not_satisfiable: InvalidRequestError,
  workspace_quota_exceeded: StorageQuotaExceededError,
  sandbox_conflict: ConflictError,
  owner_conflict: ConflictError,
  chat_has_active_sandbox: ConflictError,
  chat_purging: ConflictError,
  quota_exceeded: QuotaExceededError,
  launch_failed: UnavailableError,
  capacity_unavailable: UnavailableError,
  logs_unavailable: UnavailableError,
  internal_error: ServerError,
};

/** Whether `code` is one of the API's problem codes. */
export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.hasOwn(CLASS_OF_CODE, code);
}

/** The class for an answer that was not a problem body, by its status. */
function classOfStatus(status: number): ApiErrorClass {
  if (status === 401 || status === 403) return UnauthorizedError;
  if (status === 404) return NotFoundError;
  if (status === 409) return ConflictError;
  if (status === 422) return ValidationError;
  if (status === 429 || status === 502 || status === 503 || status === 504) return UnavailableError;
  if (status >= 500) return ServerError;
  if (status >= 400) return InvalidRequestError;
  return SandboxApiError;
}

/** The error for an answer: of its code's class when it was a problem, else of its status's. */
export function apiErrorOf(init: ApiErrorInit): SandboxApiError {
  const Class = init.code === 'unexpected_response' ? classOfStatus(init.status) : CLASS_OF_CODE[init.code];
  return new Class(init);
}

/** Narrows an unknown error to a `SandboxApiError`, of one of `codes` when any are given. */
export function isApiError(error: unknown, ...codes: readonly ApiErrorCode[]): error is SandboxApiError {
  return error instanceof SandboxApiError && (codes.length === 0 || codes.includes(error.code));
}

/** The request got no answer: refused connection, DNS failure, reset. `cause` is fetch's error. */
export class NetworkError extends Error {
  constructor(
    readonly url: string,
    options: { cause: unknown },
  ) {
    const reason = options.cause instanceof Error ? describeCause(options.cause) : String(options.cause);
    super(`no answer from ${url}: ${reason}`, options);
    this.name = 'NetworkError';
  }
}

/** fetch's own message is "fetch failed"; the socket error beneath it says why. */
function describeCause(error: Error): string {
  const inner = error.cause;
  if (inner instanceof Error) {
    const code = (inner as NodeJS.ErrnoException).code;
    return code ? `${code} ${inner.message}` : inner.message;
  }
  return error.message;
}

/** `waitUntilRunning` ended without the sandbox running. */
export class SandboxWaitError extends Error {
  constructor(
    message: string,
    /** The sandbox as last seen; null when no answer came. */
    readonly sandbox: Sandbox | null,
    readonly elapsedMs: number,
  ) {
    super(message);
    this.name = new.target.name;
  }
}
/** The sandbox ended (`failed`, `stopped`, or is `stopping`) instead of running. */
export class SandboxEndedError extends SandboxWaitError {}
/** The deadline passed while the sandbox was still provisioning. */
export class WaitTimeoutError extends SandboxWaitError {}
