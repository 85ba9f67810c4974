/**
 * The sandbox logs port: what core needs to read a session's output. Implemented over the local
 * process runtime's log files and over CloudWatch Logs (the awslogs driver of the ECS tasks).
 */
import type { Session } from './model.js';

/** Bounds of one answer, the same for every backend. */
export const LOG_BOUNDS = {
  /** Lines per answer, in both modes. */
  maxLines: 1000,
  /** UTF-8 bytes of message text per answer. */
  maxBytes: 256 * 1024,
  /** UTF-8 bytes of one line; a longer line is cut (at a character boundary) and marked `truncated`. */
  maxLineBytes: 16 * 1024,
} as const;

export interface LogLine {
  /** When the line was written (epoch ms); null where the backend does not know (local files). */
  readonly time: number | null;
  readonly message: string;
  /** The line was longer than `LOG_BOUNDS.maxLineBytes` and `message` is its beginning. */
  readonly truncated: boolean;
}

/**
 * Where a read starts: the last `tail` lines, the beginning of the session's log, or right after a
 * position an earlier read of the same session answered.
 */
export type LogStart =
  | { readonly from: 'tail'; readonly tail: number }
  | { readonly from: 'start' }
  | { readonly from: 'position'; readonly position: string };

export interface LogReadRequest {
  readonly start: LogStart;
  /** Only lines at or after this time (epoch ms), where the backend knows line times. */
  readonly since: number | null;
}

export type LogReadResult =
  | {
      readonly ok: true;
      /** Oldest first, within `LOG_BOUNDS`. */
      readonly lines: readonly LogLine[];
      /** Where the next read continues: right after the last line answered (or where this one started). */
      readonly position: string;
    }
  /** The position is not one this backend wrote, or no longer valid (an expired CloudWatch token). */
  | { readonly ok: false; readonly reason: 'invalid_position' };

/**
 * A session's output, read in bounded pieces. A position is the backend's own text (a byte offset,
 * a CloudWatch token); core wraps it in an opaque cursor bound to the chat and its tenant.
 */
export interface SandboxLogs {
  /** Throws `LogsUnavailableError` when the backend cannot be read right now. */
  read(session: Session, request: LogReadRequest): Promise<LogReadResult>;
}

/** Thrown by a `SandboxLogs` backend that cannot answer now (throttled, unreachable, refused). */
export class LogsUnavailableError extends Error {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options);
    this.name = 'LogsUnavailableError';
  }
}
