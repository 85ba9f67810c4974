/**
 * Lines as every log backend answers them: UTF-8 text (invalid bytes become U+FFFD, so any output
 * fits in JSON), at most `LOG_BOUNDS.maxLineBytes` of it, cut at a character boundary.
 */
import { LOG_BOUNDS, type LogLine } from './logs-port.js';

const CONTINUATION_MASK = 0xc0;
const CONTINUATION = 0x80;

/** Where to cut `bytes` at or before `limit` so that no UTF-8 sequence is split. */
function boundary(bytes: Uint8Array, limit: number): number {
  let end = limit;
  // A UTF-8 character is at most 4 bytes: at most 3 continuation bytes to step back over.
  while (end > limit - 3 && end > 0 && ((bytes[end] ?? 0) & CONTINUATION_MASK) === CONTINUATION) end -= 1;
  return end;
}

/** A line of text, cut to `LOG_BOUNDS.maxLineBytes` of UTF-8 if it is longer. */
export function logLine(text: string, time: number | null, cut = false): LogLine {
  const encoded = Buffer.from(text, 'utf8');
  if (encoded.length <= LOG_BOUNDS.maxLineBytes) return { time, message: text, truncated: cut };
  const end = boundary(encoded, LOG_BOUNDS.maxLineBytes);
  return { time, message: encoded.subarray(0, end).toString('utf8'), truncated: true };
}

/**
 * A line from raw bytes: `bytes` is its beginning (at least `LOG_BOUNDS.maxLineBytes + 1` bytes of
 * it when it is longer) and `length` its whole length, without the newline. A trailing CR goes.
 */
export function decodeLine(bytes: Uint8Array, length: number, time: number | null): LogLine {
  const limit = LOG_BOUNDS.maxLineBytes;
  const cut = length > limit;
  let raw = cut ? bytes.subarray(0, boundary(bytes, limit)) : bytes.subarray(0, length);
  if (!cut && raw.length > 0 && raw[raw.length - 1] === 0x0d) raw = raw.subarray(0, raw.length - 1);
  // Invalid sequences become U+FFFD, which can make the text longer than its bytes: bound it again.
  return logLine(Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('utf8'), time, cut);
}

/** The UTF-8 bytes of a line's message, what the per-answer budget counts. */
export function messageBytes(line: LogLine): number {
  return Buffer.byteLength(line.message, 'utf8');
}
