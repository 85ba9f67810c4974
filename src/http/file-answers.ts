/**
 * How a chat file travels over HTTP: its content type from the extension, byte ranges (RFC 9110),
 * its validators and length, the body limit of uploads, and the 200/206 answer of a read.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { ByteRange, ChatFileInfo } from '../core/chat-files-port.js';
import { SandboxError } from '../core/errors.js';

/** Content types by extension, for `contentType` and `Content-Type`; anything else is octet-stream. */
const CONTENT_TYPES: Readonly<Record<string, string>> = {
  txt: 'text/plain; charset=utf-8',
  md: 'text/markdown; charset=utf-8',
  json: 'application/json',
  csv: 'text/csv; charset=utf-8',
  html: 'text/html; charset=utf-8',
  pdf: 'application/pdf',
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  svg: 'image/svg+xml',
  zip: 'application/zip',
  py: 'text/x-python; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  ts: 'text/plain; charset=utf-8',
};

/** The content type a file's extension names, or null. */
export function contentTypeOf(path: string): string | null {
  const extension = /\.([A-Za-z0-9]{1,8})$/.exec(path)?.[1]?.toLowerCase();
  return extension ? (CONTENT_TYPES[extension] ?? null) : null;
}

const RANGE = /^bytes=(\d{0,15})-(\d{0,15})$/;

/**
 * The byte range a `Range` header asks of a file of `size` bytes: null for the whole file (also
 * for a header this server does not serve: another unit, several ranges; RFC 9110 section 14.2
 * lets a server ignore those), 416 when the one range lies outside the file.
 */
export function parseRange(header: string | undefined, size: number): ByteRange | null {
  if (header === undefined) return null;
  const match = RANGE.exec(header.trim());
  if (!match || (match[1] === '' && match[2] === '')) return null;
  const unsatisfiable = () => new SandboxError('range_not_satisfiable', `The file has ${size} bytes.`);
  if (match[1] === '') {
    const suffix = Number(match[2]);
    if (suffix === 0 || size === 0) throw unsatisfiable();
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(match[1]);
  const end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
  if (start >= size || end < start) throw unsatisfiable();
  return { start, end };
}

/** The bytes of a Buffer as a plain Uint8Array view: no copy. */
export function bytesOf(buffer: Buffer): Uint8Array<ArrayBuffer> {
  return new Uint8Array(buffer.buffer as ArrayBuffer, buffer.byteOffset, buffer.byteLength);
}

/** Refuses a body over `maxBytes` before it is written anywhere. */
export function limitFile(maxBytes: number): MiddlewareHandler {
  return bodyLimit({
    maxSize: maxBytes,
    onError: () => {
      throw new SandboxError('payload_too_large', `A file may have at most ${maxBytes} bytes.`);
    },
  });
}

/** The headers of a file's answer: its validators, that it takes ranges, and this answer's length. */
export function fileHeaders(c: Context, info: ChatFileInfo, length: number): void {
  c.header('ETag', info.etag);
  c.header('Last-Modified', new Date(info.modifiedAt).toUTCString());
  c.header('Accept-Ranges', 'bytes');
  c.header('Content-Length', String(length));
}

/**
 * The `Range` the request asks of a file of `size` bytes (`parseRange`); a 416 says how large the
 * file is (RFC 9110 section 15.5.17).
 */
export function rangeOf(c: Context): (size: number) => ByteRange | null {
  return (size) => {
    c.header('Content-Range', `bytes */${size}`);
    const range = parseRange(c.req.header('range'), size);
    c.header('Content-Range', undefined);
    return range;
  };
}

/** Answers a file read: 200 with the whole file, or 206 with the range and its `Content-Range`. */
export function sendFile(
  c: Context,
  read: { readonly info: ChatFileInfo; readonly body: Buffer; readonly range: ByteRange | null },
): Response {
  fileHeaders(c, read.info, read.body.length);
  if (!read.range) return c.body(bytesOf(read.body), 200);
  c.header('Content-Range', `bytes ${read.range.start}-${read.range.end}/${read.info.size}`);
  return c.body(bytesOf(read.body), 206);
}
