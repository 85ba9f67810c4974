import type { CoreDeps } from './deps.js';
import { SandboxError } from './errors.js';
import { decodeLogCursor, encodeLogCursor } from './logs-cursor.js';
import { type LogLine, type LogStart, LogsUnavailableError, type SandboxLogs } from './logs-port.js';
import type { ChatKey } from './model.js';

/** Seconds a caller is asked to wait after the log backend was unavailable. */
const UNAVAILABLE_RETRY_SECONDS = 5;

/** What a caller asks for; `tail` applies only without a cursor. */
export interface LogsQuery {
  /** Without a cursor: how many of the last lines. */
  readonly tail: number;
  /** Epoch ms: only lines at or after it, where line times are known. */
  readonly since?: number;
  /** The `nextCursor` of an earlier answer: continue right after it. */
  readonly cursor?: string;
}

/** One answer: the session read, its lines (oldest first) and the cursor after them. */
export interface LogsPage {
  readonly sessionId: string;
  readonly lines: readonly LogLine[];
  readonly nextCursor: string;
}

/**
 * A piece of the output of the chat's latest session (the one `getSandbox` answers). Without a
 * cursor, its last `tail` lines; with one, the lines after it, oldest first. A cursor of an earlier
 * session of the chat (it was replaced since) reads the latest session from its beginning.
 */
export async function readSandboxLogs(
  deps: Pick<CoreDeps, 'store' | 'logger'>,
  logs: SandboxLogs,
  key: ChatKey,
  query: LogsQuery,
): Promise<LogsPage> {
  const session = await deps.store.get(key);
  if (!session) throw new SandboxError('sandbox_not_found', 'The chat has no sandbox.');
  // Checked before anything is read: a cursor of another chat or tenant never reaches the backend.
  const after = query.cursor === undefined ? null : decodeLogCursor(key, query.cursor);
  let start: LogStart;
  if (!after) start = { from: 'tail', tail: query.tail };
  else if (after.sessionId === session.sessionId) start = { from: 'position', position: after.position };
  else start = { from: 'start' };

  let result: Awaited<ReturnType<SandboxLogs['read']>>;
  try {
    result = await logs.read(session, { start, since: query.since ?? null });
  } catch (error) {
    if (!(error instanceof LogsUnavailableError)) throw error;
    deps.logger.warn('sandbox logs unavailable', { ...key, sessionId: session.sessionId, error });
    throw new SandboxError('logs_unavailable', 'The sandbox logs cannot be read right now.', {
      retryAfterSeconds: UNAVAILABLE_RETRY_SECONDS,
      cause: error,
    });
  }
  if (!result.ok) {
    throw new SandboxError(
      'invalid_cursor',
      'The cursor no longer names a position in the log (on AWS a cursor expires after 24 hours); read again without it.',
    );
  }
  return {
    sessionId: session.sessionId,
    lines: result.lines,
    nextCursor: encodeLogCursor(key, { sessionId: session.sessionId, position: result.position }),
  };
}
