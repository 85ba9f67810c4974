/**
 * The error catalogue: every machine code the API can answer with. The HTTP layer maps each code to a
 * status in one `Record<ErrorCode, number>`, so adding a code without a status does not compile.
 */
export const ERROR_CODES = [
  'validation_failed',
  'malformed_json',
  'payload_too_large',
  'unsupported_media_type',
  'unauthorized',
  'misdirected_request',
  'route_not_found',
  'method_not_allowed',
  'sandbox_not_found',
  'chat_not_found',
  'chat_file_not_found',
  'precondition_failed',
  'range_not_satisfiable',
  'workspace_quota_exceeded',
  'sandbox_conflict',
  'owner_conflict',
  'chat_has_active_sandbox',
  'chat_purging',
  'quota_exceeded',
  'unknown_profile',
  'invalid_cursor',
  'launch_failed',
  'capacity_unavailable',
  'logs_unavailable',
  'internal_error',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export interface FieldError {
  readonly path: string;
  readonly message: string;
}

/** An error the caller can act on. `detail` is shown to the caller, so it never holds internals. */
export class SandboxError extends Error {
  constructor(
    readonly code: ErrorCode,
    readonly detail: string,
    readonly options: {
      retryAfterSeconds?: number;
      errors?: readonly FieldError[];
      /** More members of the problem body (RFC 9457 extension members), e.g. `limit` of a 429. */
      extra?: Readonly<Record<string, unknown>>;
      cause?: unknown;
    } = {},
  ) {
    super(detail, { cause: options.cause });
    this.name = 'SandboxError';
  }
}

/**
 * Thrown by a `SandboxRuntime` when a launch did not start. `retryable` separates throttling and
 * capacity shortfalls (the session stays `provisioning` and is retried) from failures of this launch.
 */
export class LaunchError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    options: { cause?: unknown } = {},
  ) {
    super(message, options);
    this.name = 'LaunchError';
  }
}
