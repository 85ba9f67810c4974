/**
 * How `sandboxctl` ends: its exit codes (documented in the help text and docs/cli.md) and the one
 * line (plus field errors) it writes to stderr for each kind of failure. API errors never print a
 * stack trace: what the API said is the whole message.
 */
import {
  NetworkError,
  NotFoundError,
  QuotaExceededError,
  SandboxApiError,
  SandboxEndedError,
  SandboxWaitError,
  StorageQuotaExceededError,
} from '../client/index.js';

export const EXIT = {
  ok: 0,
  /** The API refused the request (4xx other than 404). */
  apiError: 1,
  /** Bad flags or arguments; nothing was sent. */
  usage: 2,
  /** 404: the chat has no sandbox (or no live one), no such file, or no such route. */
  notFound: 3,
  /** `wait` (or `create --wait`) timed out, or the sandbox ended failed or stopped. */
  notRunning: 4,
  /** A server error (5xx), an answer that was not the API's, or no answer at all. */
  unavailable: 5,
  /** Interrupted (Ctrl+C). */
  interrupted: 130,
} as const;

export const EXIT_CODES_HELP = `Exit codes:
  0    ok
  1    the API refused the request (4xx other than 404: validation, conflict, quota, auth)
  2    usage error: bad flags or arguments, nothing was sent
  3    not found (404): the chat has no sandbox (or no live one), no files, or no such file
  4    wait timed out, or the sandbox ended (failed, stopped) instead of running
  5    server or network error: 5xx, an answer that is not the API's, or no answer
  130  interrupted (Ctrl+C)`;

/** A bad command line: reported with a pointer to the command's help, exit code 2. */
export class UsageError extends Error {
  constructor(
    message: string,
    /** The command whose help to point at; null for the top level. */
    readonly command: string | null = null,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

/** The exit code of a failure. */
export function exitCodeOf(error: unknown): number {
  if (error instanceof UsageError) return EXIT.usage;
  if (error instanceof SandboxWaitError) return EXIT.notRunning;
  // An answer that was not the API's (a wrong --url, a gateway's own 404): not "no such sandbox".
  if (
    error instanceof SandboxApiError &&
    error.code === 'unexpected_response' &&
    ![401, 403].includes(error.status)
  ) {
    return EXIT.unavailable;
  }
  if (error instanceof NotFoundError) return EXIT.notFound;
  if (error instanceof SandboxApiError) return error.status >= 500 ? EXIT.unavailable : EXIT.apiError;
  if (error instanceof NetworkError) return EXIT.unavailable;
  if (isAbort(error)) return EXIT.interrupted;
  return EXIT.apiError;
}

export function isAbort(error: unknown): boolean {
  return error instanceof Error && (error.name === 'AbortError' || error.name === 'TimeoutError');
}

/** What to write to stderr for a failure: `error: <code>: <detail>`, then indented details. */
export function describeError(error: unknown): string {
  const lines: string[] = [];
  if (error instanceof UsageError) {
    lines.push(`error: usage: ${error.message}`);
    lines.push(`  see: sandboxctl ${error.command ? `${error.command} ` : ''}--help`);
  } else if (error instanceof SandboxApiError) {
    lines.push(`error: ${error.code}: ${error.detail}`);
    for (const field of error.errors) lines.push(`  ${field.path}: ${field.message}`);
    if (error instanceof QuotaExceededError && error.limit) {
      const { scope, max, current } = error.limit;
      lines.push(`  limit: ${scope} allows ${max} live sandboxes, ${current} live now`);
    }
    if (error instanceof StorageQuotaExceededError && error.problem?.quota) {
      const { limitBytes, usedBytes } = error.problem.quota;
      lines.push(`  quota: ${usedBytes} of ${limitBytes} bytes used`);
    }
    if (error.retryAfterSeconds !== null) lines.push(`  retry after: ${error.retryAfterSeconds}s`);
    if (error.requestId) lines.push(`  request id: ${error.requestId}`);
  } else if (error instanceof SandboxWaitError) {
    const code = error instanceof SandboxEndedError ? 'sandbox_ended' : 'wait_timeout';
    lines.push(`error: ${code}: ${error.message}`);
  } else if (error instanceof NetworkError) {
    lines.push(`error: network: ${error.message}`);
  } else if (isAbort(error)) {
    lines.push('error: interrupted');
  } else {
    lines.push(`error: ${error instanceof Error ? error.message : String(error)}`);
  }
  return `${lines.join('\n')}\n`;
}
