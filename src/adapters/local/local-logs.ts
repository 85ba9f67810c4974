/**
 * Sandbox logs in local mode: the file the local runtime sends a sandbox's stdout and stderr to,
 * `<dataDir>/logs/<sessionId>.log`. The file is named from the session record, never from the
 * request, and opened without following a symbolic link. A tail reads backwards from the end in
 * chunks; a follow reads forwards from a byte offset; neither reads more than `SCAN_LIMIT_BYTES`.
 * Lines have no times locally, so `since` filters nothing here.
 */
import { constants } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeLine, messageBytes } from '../../core/log-lines.js';
import {
  LOG_BOUNDS,
  type LogLine,
  type LogReadRequest,
  type LogReadResult,
  LogsUnavailableError,
  type SandboxLogs,
} from '../../core/logs-port.js';
import { isTerminal, type Session } from '../../core/model.js';

const CHUNK_BYTES = 64 * 1024;
/** Bytes one read scans at most: a tail over huge lines, a line without an end yet. */
const SCAN_LIMIT_BYTES = 8 * 1024 * 1024;
/** Session ids become a file name: only ids that are plain names are. */
const SESSION_ID = /^[A-Za-z0-9][A-Za-z0-9-]{0,127}$/;
/** `<offset>`, or `<offset>s` when the offset is inside a line that was answered cut (the rest is skipped). */
const POSITION = /^(0|[1-9]\d{0,15})(s?)$/;
const NEWLINE = 0x0a;
/** Bytes kept of a line: one more than the bound, so a cut knows the character that follows. */
const KEPT_LINE_BYTES = LOG_BOUNDS.maxLineBytes + 4;

interface FilePosition {
  readonly offset: number;
  /** The offset is inside a line already answered (cut): skip to its end. */
  readonly skipping: boolean;
}

const positionText = (at: FilePosition) => `${at.offset}${at.skipping ? 's' : ''}`;

function parsePosition(text: string): FilePosition | null {
  const match = POSITION.exec(text);
  if (!match) return null;
  const offset = Number(match[1]);
  return Number.isSafeInteger(offset) ? { offset, skipping: match[2] === 's' } : null;
}

/** `SandboxLogs` over the local runtime's log files. */
export class LocalSandboxLogs implements SandboxLogs {
  constructor(private readonly dataDir: string) {}

  async read(session: Session, request: LogReadRequest): Promise<LogReadResult> {
    const { start } = request;
    const from = start.from === 'position' ? parsePosition(start.position) : { offset: 0, skipping: false };
    if (!from) return { ok: false, reason: 'invalid_position' };
    const file = SESSION_ID.test(session.sessionId) ? await this.open(session.sessionId) : null;
    // No file yet (the process has not started) is an empty log.
    if (!file) return { ok: true, lines: [], position: positionText(from) };
    try {
      const { size } = await file.stat();
      // A session that ended writes no more: its last line counts even without a newline.
      const final = isTerminal(session);
      if (start.from === 'tail') return await tail(file, size, start.tail, final);
      if (from.offset > size) return invalid();
      return await follow(file, size, from, final);
    } catch (error) {
      throw new LogsUnavailableError('could not read the sandbox log file', { cause: error });
    } finally {
      await file.close();
    }
  }

  /** The session's log file, or null if there is none; a link or anything but a file is refused. */
  private async open(sessionId: string): Promise<FileHandle | null> {
    const path = join(this.dataDir, 'logs', `${sessionId}.log`);
    let file: FileHandle;
    try {
      // O_NONBLOCK: a FIFO put in the file's place must not hold the request.
      file = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw new LogsUnavailableError('could not open the sandbox log file', { cause: error });
    }
    const stat = await file.stat().catch(async (error: unknown) => {
      await file.close();
      throw new LogsUnavailableError('could not read the sandbox log file', { cause: error });
    });
    if (!stat.isFile()) {
      await file.close();
      throw new LogsUnavailableError(`the sandbox log at ${path} is not a regular file`);
    }
    return file;
  }
}

function invalid(): LogReadResult {
  return { ok: false, reason: 'invalid_position' };
}

/** Reads `length` bytes at `position` (fewer at the end of the file); answers how many. */
async function readAt(file: FileHandle, buffer: Buffer, position: number, length: number): Promise<number> {
  let done = 0;
  while (done < length) {
    const { bytesRead } = await file.read(buffer, done, length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done;
}

/**
 * The last `count` complete lines before `size`, within the answer's bounds, oldest first. Reads
 * backwards chunk by chunk for their newlines, then each line's beginning.
 */
async function tail(file: FileHandle, size: number, count: number, final: boolean): Promise<LogReadResult> {
  const wanted = Math.min(count, LOG_BOUNDS.maxLines);
  const chunk = Buffer.allocUnsafe(CHUNK_BYTES);
  // Line ends, newest first; a final unterminated line ends at the end of the file.
  const ends: number[] = [];
  let pos = size;
  if (final && size > 0) {
    await readAt(file, chunk, size - 1, 1);
    if (chunk[0] !== NEWLINE) ends.push(size);
  }
  while (pos > 0 && ends.length <= wanted && size - pos < SCAN_LIMIT_BYTES) {
    const begin = Math.max(0, pos - CHUNK_BYTES);
    const read = await readAt(file, chunk, begin, pos - begin);
    for (let i = read - 1; i >= 0 && ends.length <= wanted; i -= 1) {
      if (chunk[i] === NEWLINE) ends.push(begin + i);
    }
    pos = begin;
  }
  const newest = ends[0];
  if (newest === undefined) {
    // Nothing ends here: an unfinished first line (read it from 0 later), or a line so long that
    // the scan did not reach its start (skip it).
    return {
      ok: true,
      lines: [],
      position: pos === 0 ? '0' : positionText({ offset: size, skipping: true }),
    };
  }
  // The oldest line found starts after the next newline back, or at 0 when the scan reached it.
  const known = pos === 0 && ends.length <= wanted ? ends.length : ends.length - 1;
  const lines: LogLine[] = [];
  let bytes = 0;
  for (let k = 0; k < Math.min(wanted, known); k += 1) {
    const end = ends[k]!;
    const begin = k + 1 < ends.length ? ends[k + 1]! + 1 : 0;
    const head = Buffer.allocUnsafe(Math.min(end - begin, KEPT_LINE_BYTES));
    const read = await readAt(file, head, begin, head.length);
    const line = decodeLine(head.subarray(0, read), end - begin, null);
    if (bytes + messageBytes(line) > LOG_BOUNDS.maxBytes) break;
    bytes += messageBytes(line);
    lines.push(line);
  }
  lines.reverse();
  return { ok: true, lines, position: String(Math.min(newest + 1, size)) };
}

/** The complete lines after `from`, oldest first, within the answer's bounds. */
async function follow(
  file: FileHandle,
  size: number,
  from: FilePosition,
  final: boolean,
): Promise<LogReadResult> {
  const lines: LogLine[] = [];
  let bytes = 0;
  let committed = from;
  let skipping = from.skipping;
  let parts: Buffer[] = [];
  let kept = 0;
  let length = 0;
  let bounded = false;
  /** Adds the line gathered so far; false when it does not fit in the answer. */
  const emit = (): boolean => {
    const line = decodeLine(Buffer.concat(parts, kept), length, null);
    if (bytes + messageBytes(line) > LOG_BOUNDS.maxBytes) return false;
    bytes += messageBytes(line);
    lines.push(line);
    return true;
  };
  const chunk = Buffer.allocUnsafe(CHUNK_BYTES);
  const limit = Math.min(size, from.offset + SCAN_LIMIT_BYTES);
  let pos = from.offset;
  scan: while (pos < limit) {
    const read = await readAt(file, chunk, pos, Math.min(CHUNK_BYTES, limit - pos));
    if (read === 0) break;
    const view = chunk.subarray(0, read);
    let i = 0;
    while (i < read) {
      const newline = view.indexOf(NEWLINE, i);
      const end = newline === -1 ? read : newline;
      if (!skipping) {
        const room = KEPT_LINE_BYTES - kept;
        if (room > 0) {
          const piece = Buffer.from(view.subarray(i, Math.min(end, i + room)));
          parts.push(piece);
          kept += piece.length;
        }
        length += end - i;
      }
      if (newline === -1) break;
      if (!skipping && !emit()) {
        bounded = true;
        break scan;
      }
      skipping = false;
      committed = { offset: pos + newline + 1, skipping: false };
      parts = [];
      kept = 0;
      length = 0;
      i = newline + 1;
      if (lines.length >= LOG_BOUNDS.maxLines) {
        bounded = true;
        break scan;
      }
    }
    pos += read;
  }
  if (!bounded && pos > committed.offset) {
    if (skipping) {
      committed = { offset: pos, skipping: true };
    } else if (final && pos === size) {
      if (emit()) committed = { offset: pos, skipping: false };
    } else if (length > LOG_BOUNDS.maxLineBytes) {
      // A line over the bound that has no end yet: answer its beginning now and skip the rest.
      if (emit()) committed = { offset: pos, skipping: true };
    }
  }
  return { ok: true, lines, position: positionText(committed) };
}
