/**
 * The chat storage calls (docs/api.md, "Chat storage"): a chat's files and its `history.md`, sent and
 * read as raw bytes. `SandboxClient` exposes each as a method.
 */
import type { CallOptions } from './sandbox-client.js';
import { type Transport, unexpectedAnswer } from './transport.js';
import type {
  ChatFile,
  ChatFileContent,
  ChatFileList,
  ChatFileRemoved,
  ChatFilesQuery,
  ChatFileWritten,
  ChatPurge,
  FileRange,
} from './types.js';

export interface PutFileOptions extends CallOptions {
  /** `If-None-Match: *`: only create; an existing file is a `PreconditionFailedError`. */
  readonly ifNoneMatch?: boolean;
  /** `If-Match`: only replace the version with this ETag; another is a `PreconditionFailedError`. */
  readonly ifMatch?: string;
  /** Claims an unowned chat for this owner (its bytes count against the owner's storage quota). */
  readonly ownerId?: string;
}

export interface GetFileOptions extends CallOptions {
  /** Only these bytes (206); outside the file, an `InvalidRequestError` `range_not_satisfiable`. */
  readonly range?: FileRange;
}

export interface HistoryWriteOptions extends CallOptions {
  /** Claims an unowned chat for this owner. */
  readonly ownerId?: string;
}

const chatPath = (chatId: string) => `/v1/chats/${encodeURIComponent(chatId)}`;
const OCTET_STREAM = 'application/octet-stream';
const MARKDOWN = 'text/markdown; charset=utf-8';
const CONTENT_RANGE = /^bytes (\d+)-(\d+)\/(\d+)$/;

/** Text as the UTF-8 bytes sent (and signed). */
function bytesOf(body: Uint8Array | string): Uint8Array {
  return typeof body === 'string' ? new TextEncoder().encode(body) : body;
}

function signalOf(options: CallOptions): { signal?: AbortSignal } {
  return options.signal ? { signal: options.signal } : {};
}

function rangeHeader(range: FileRange): string {
  return 'suffix' in range ? `bytes=-${range.suffix}` : `bytes=${range.start}-${range.end ?? ''}`;
}

/** The storage calls over one transport. */
export class StorageCalls {
  constructor(private readonly transport: Transport) {}

  listFiles(chatId: string, query: ChatFilesQuery, options: CallOptions): Promise<ChatFileList> {
    return this.transport.json({
      method: 'GET',
      path: `${chatPath(chatId)}/files`,
      query: { prefix: query.prefix || undefined, cursor: query.cursor, limit: query.limit },
      ...signalOf(options),
    });
  }

  async *listAllFiles(chatId: string, query: ChatFilesQuery, options: CallOptions): AsyncGenerator<ChatFile> {
    let cursor = query.cursor;
    do {
      const page = await this.listFiles(chatId, { ...query, ...(cursor ? { cursor } : {}) }, options);
      yield* page.items;
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
  }

  putFile(
    chatId: string,
    path: string,
    body: Uint8Array | string,
    options: PutFileOptions,
  ): Promise<ChatFileWritten> {
    return this.transport.json({
      method: 'PUT',
      path: `${chatPath(chatId)}/file`,
      query: { path, ownerId: options.ownerId },
      raw: { bytes: bytesOf(body), contentType: OCTET_STREAM },
      headers: {
        ...(options.ifNoneMatch ? { 'if-none-match': '*' } : {}),
        ...(options.ifMatch === undefined ? {} : { 'if-match': options.ifMatch }),
      },
      ...signalOf(options),
    });
  }

  async getFile(chatId: string, path: string, options: GetFileOptions): Promise<ChatFileContent> {
    const { response, body } = await this.transport.bytes({
      method: 'GET',
      path: `${chatPath(chatId)}/file`,
      query: { path },
      ...(options.range ? { headers: { range: rangeHeader(options.range) } } : {}),
      ...signalOf(options),
    });
    const etag = response.headers.get('etag');
    if (!etag) throw unexpectedAnswer(response, 'the file came without an ETag');
    const modified = Date.parse(response.headers.get('last-modified') ?? '');
    const file = {
      body,
      etag,
      size: body.byteLength,
      contentType: response.headers.get('content-type') ?? OCTET_STREAM,
      modifiedAt: Number.isNaN(modified) ? null : new Date(modified).toISOString(),
    };
    if (response.status !== 206) return file;
    const range = CONTENT_RANGE.exec(response.headers.get('content-range') ?? '');
    if (!range) throw unexpectedAnswer(response, 'a partial answer without a byte Content-Range');
    return {
      ...file,
      size: Number(range[3]),
      range: { start: Number(range[1]), end: Number(range[2]) },
    };
  }

  deleteFile(chatId: string, path: string, options: CallOptions): Promise<ChatFileRemoved> {
    return this.transport.json({
      method: 'DELETE',
      path: `${chatPath(chatId)}/file`,
      query: { path },
      ...signalOf(options),
    });
  }

  purgeChat(chatId: string, options: CallOptions): Promise<ChatPurge> {
    return this.transport.json({ method: 'DELETE', path: chatPath(chatId), ...signalOf(options) });
  }

  async getHistory(chatId: string, options: CallOptions): Promise<string> {
    const { body } = await this.transport.bytes(
      { method: 'GET', path: `${chatPath(chatId)}/history`, ...signalOf(options) },
      'text/markdown',
    );
    return new TextDecoder().decode(body);
  }

  writeHistory(
    chatId: string,
    method: 'PUT' | 'POST',
    text: string | Uint8Array,
    options: HistoryWriteOptions,
  ): Promise<ChatFileWritten> {
    return this.transport.json({
      method,
      path: `${chatPath(chatId)}/history`,
      query: { ownerId: options.ownerId },
      raw: { bytes: bytesOf(text), contentType: MARKDOWN },
      ...signalOf(options),
    });
  }
}
