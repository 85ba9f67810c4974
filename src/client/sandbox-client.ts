/**
 * `SandboxClient`: one method per route of the control plane's API (docs/api.md), with typed answers
 * and typed errors (./errors.ts). Works against local mode (bearer token) and API Gateway (SigV4).
 * The chat storage methods delegate to ./storage-calls.ts.
 */
import {
  type FollowLogsOptions,
  followLogs,
  type PollingCalls,
  type WaitOptions,
  waitUntilRunning,
} from './polling.js';
import { type EventsOptions, eventMessages } from './sse.js';
import {
  type GetFileOptions,
  type HistoryWriteOptions,
  type PutFileOptions,
  StorageCalls,
} from './storage-calls.js';
import { type ClientAuth, type FetchLike, Transport } from './transport.js';
import type {
  ChatFile,
  ChatFileContent,
  ChatFileList,
  ChatFileRemoved,
  ChatFilesQuery,
  ChatFileWritten,
  ChatPurge,
  DeleteResult,
  EventMessage,
  GetOrCreateRequest,
  GetOrCreateResult,
  Health,
  ListQuery,
  LogLine,
  LogsPage,
  LogsQuery,
  Sandbox,
  SandboxPage,
  Usage,
  UsageQuery,
} from './types.js';

/** Local mode's address (`npm start`). */
export const DEFAULT_BASE_URL = 'http://127.0.0.1:8123';

export interface SandboxClientOptions {
  /** The API's base URL, with an API Gateway stage path if it has one. Default: local mode's. */
  readonly baseUrl?: string | URL;
  /** `{ token }` for local mode (`.data/api-token`), `{ sigv4: { region } }` for API Gateway. */
  readonly auth?: ClientAuth;
  /** The fetch to use (default: the global one). */
  readonly fetch?: FetchLike;
  /** More headers for every request. */
  readonly headers?: Readonly<Record<string, string>>;
  /**
   * How many more times `getOrCreate` is sent after a network error or a 503 (default 0). The PUT is
   * idempotent, so a repeat reuses what the first one started; no other call is repeated.
   */
  readonly retries?: number;
}

/** Options every call takes. */
export interface CallOptions {
  readonly signal?: AbortSignal;
}

const sandboxPath = (chatId: string) => `/v1/chats/${encodeURIComponent(chatId)}/sandbox`;

/** A client of the sandbox control plane's HTTP API. */
export class SandboxClient {
  private readonly transport: Transport;
  private readonly storage: StorageCalls;
  private readonly retries: number;

  constructor(options: SandboxClientOptions = {}) {
    this.transport = new Transport({
      baseUrl: options.baseUrl ?? DEFAULT_BASE_URL,
      ...(options.auth ? { auth: options.auth } : {}),
      ...(options.fetch ? { fetch: options.fetch } : {}),
      ...(options.headers ? { headers: options.headers } : {}),
    });
    this.storage = new StorageCalls(this.transport);
    this.retries = options.retries ?? 0;
  }

  /** The base URL requests go to. */
  get baseUrl(): string {
    return this.transport.baseUrl.href;
  }

  /** `PUT /v1/chats/{chatId}/sandbox`: the chat's live sandbox, started if it has none. */
  getOrCreate(
    chatId: string,
    request: GetOrCreateRequest,
    options: CallOptions & { readonly retries?: number } = {},
  ): Promise<GetOrCreateResult> {
    return this.transport.json({
      method: 'PUT',
      path: sandboxPath(chatId),
      body: request,
      retries: options.retries ?? this.retries,
      ...signalOf(options),
    });
  }

  /** `GET /v1/chats/{chatId}/sandbox`: the chat's latest sandbox; `waitSeconds` holds while provisioning. */
  async get(chatId: string, options: CallOptions & { readonly waitSeconds?: number } = {}): Promise<Sandbox> {
    const answer = await this.transport.json<{ sandbox: Sandbox }>({
      method: 'GET',
      path: sandboxPath(chatId),
      query: { waitSeconds: options.waitSeconds },
      ...signalOf(options),
    });
    return answer.sandbox;
  }

  /** `POST .../keepalive`: pushes the idle expiry out (and sets a new idle timeout if given). */
  async keepalive(
    chatId: string,
    options: CallOptions & { readonly idleTimeoutSeconds?: number } = {},
  ): Promise<Sandbox> {
    const answer = await this.transport.json<{ sandbox: Sandbox }>({
      method: 'POST',
      path: `${sandboxPath(chatId)}/keepalive`,
      ...(options.idleTimeoutSeconds === undefined
        ? {}
        : { body: { idleTimeoutSeconds: options.idleTimeoutSeconds } }),
      ...signalOf(options),
    });
    return answer.sandbox;
  }

  /** `DELETE /v1/chats/{chatId}/sandbox`: stops the live sandbox; `not_found` when none was live. */
  delete(chatId: string, options: CallOptions = {}): Promise<DeleteResult> {
    return this.transport.json({ method: 'DELETE', path: sandboxPath(chatId), ...signalOf(options) });
  }

  /** `GET /v1/sandboxes`: one page, newest first; pass `nextCursor` back as `cursor` for the next. */
  list(query: ListQuery = {}, options: CallOptions = {}): Promise<SandboxPage> {
    const status = typeof query.status === 'string' ? query.status : query.status?.join(',');
    return this.transport.json({
      method: 'GET',
      path: '/v1/sandboxes',
      query: {
        status: status || undefined,
        agentId: query.agentId,
        ownerId: query.ownerId,
        limit: query.limit,
        cursor: query.cursor,
      },
      ...signalOf(options),
    });
  }

  /** Every sandbox `query` matches, across pages (`limit` is the page size). */
  async *listAll(query: ListQuery = {}, options: CallOptions = {}): AsyncGenerator<Sandbox> {
    let cursor = query.cursor;
    do {
      const page = await this.list({ ...query, ...(cursor ? { cursor } : {}) }, options);
      yield* page.items;
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
  }

  /** `GET /v1/usage`: live counts, limits and daily totals of the tenant (and of one owner). */
  usage(query: UsageQuery = {}, options: CallOptions = {}): Promise<Usage> {
    return this.transport.json({
      method: 'GET',
      path: '/v1/usage',
      query: { ownerId: query.ownerId, from: query.from, to: query.to },
      ...signalOf(options),
    });
  }

  /** `GET /v1/health`; with `deep` the store is checked too, and `degraded` is answered, not thrown. */
  health(options: CallOptions & { readonly deep?: boolean } = {}): Promise<Health> {
    return this.transport.json({
      method: 'GET',
      path: '/v1/health',
      query: { deep: options.deep ? 'true' : undefined },
      answerStatuses: [503],
      ...signalOf(options),
    });
  }

  /** `GET .../sandbox/logs`: the latest lines of the chat's sandbox, or those after `cursor`. */
  logs(chatId: string, query: LogsQuery = {}, options: CallOptions = {}): Promise<LogsPage> {
    const since = query.since instanceof Date ? query.since.toISOString() : query.since;
    return this.transport.json({
      method: 'GET',
      path: `${sandboxPath(chatId)}/logs`,
      query: { tail: query.tail, since, cursor: query.cursor },
      ...signalOf(options),
    });
  }

  /**
   * The sandbox's log lines as they come: polls with the cursor until the sandbox has ended and
   * nothing new came, or until `signal` aborts.
   */
  followLogs(chatId: string, options: FollowLogsOptions = {}): AsyncGenerator<LogLine> {
    return followLogs(this.polling(), chatId, options);
  }

  /** `GET /v1/events` (local mode): lifecycle events as they happen; reconnects with the last id. */
  events(options: EventsOptions = {}): AsyncGenerator<EventMessage> {
    return eventMessages(this.transport, options);
  }

  /** `GET /v1/chats/{chatId}/files`: one page of the chat's files in path order, and its `totalBytes`. */
  listFiles(chatId: string, query: ChatFilesQuery = {}, options: CallOptions = {}): Promise<ChatFileList> {
    return this.storage.listFiles(chatId, query, options);
  }

  /** Every file of the chat `query` matches, across pages (`limit` is the page size). */
  listAllFiles(
    chatId: string,
    query: ChatFilesQuery = {},
    options: CallOptions = {},
  ): AsyncGenerator<ChatFile> {
    return this.storage.listAllFiles(chatId, query, options);
  }

  /**
   * `PUT /v1/chats/{chatId}/file?path=`: writes the whole file atomically (a string as UTF-8);
   * `created` says whether it was new. `ifNoneMatch` only creates, `ifMatch` only replaces that version.
   */
  putFile(
    chatId: string,
    path: string,
    body: Uint8Array | string,
    options: PutFileOptions = {},
  ): Promise<ChatFileWritten> {
    return this.storage.putFile(chatId, path, body, options);
  }

  /** `GET /v1/chats/{chatId}/file?path=`: the file's bytes (or a `range` of them) and its ETag. */
  getFile(chatId: string, path: string, options: GetFileOptions = {}): Promise<ChatFileContent> {
    return this.storage.getFile(chatId, path, options);
  }

  /** `DELETE /v1/chats/{chatId}/file?path=`: removes the file; `not_found` when there was none. */
  deleteFile(chatId: string, path: string, options: CallOptions = {}): Promise<ChatFileRemoved> {
    return this.storage.deleteFile(chatId, path, options);
  }

  /**
   * Purges the chat: files, history, records. `purging` at once (the chat then takes no sandbox
   * and no write, `ConflictError` with `chat_purging`), everything gone some 15 s later; a chat
   * whose sandbox has not stopped is `ConflictError` with `chat_has_active_sandbox`.
   */
  purgeChat(chatId: string, options: CallOptions = {}): Promise<ChatPurge> {
    return this.storage.purgeChat(chatId, options);
  }

  /** `GET /v1/chats/{chatId}/history`: the chat's `history.md` as text. */
  getHistory(chatId: string, options: CallOptions = {}): Promise<string> {
    return this.storage.getHistory(chatId, options);
  }

  /** `PUT /v1/chats/{chatId}/history`: replaces `history.md` with `text` (a string as UTF-8). */
  putHistory(
    chatId: string,
    text: string | Uint8Array,
    options: HistoryWriteOptions = {},
  ): Promise<ChatFileWritten> {
    return this.storage.writeHistory(chatId, 'PUT', text, options);
  }

  /** `POST /v1/chats/{chatId}/history`: appends `text` to `history.md` (nothing is added between). */
  appendHistory(
    chatId: string,
    text: string | Uint8Array,
    options: HistoryWriteOptions = {},
  ): Promise<ChatFileWritten> {
    return this.storage.writeHistory(chatId, 'POST', text, options);
  }

  /**
   * Resolves with the sandbox once it is `running`. Throws `SandboxEndedError` when it ends
   * (`failed`, `stopped`, `stopping`) and `WaitTimeoutError` when `timeoutMs` passes first.
   */
  waitUntilRunning(chatId: string, options: WaitOptions): Promise<Sandbox> {
    return waitUntilRunning(this.polling(), chatId, options);
  }

  private polling(): PollingCalls {
    return {
      get: (chatId, options) => this.get(chatId, options),
      logs: (chatId, query, options) => this.logs(chatId, query, options),
    };
  }
}

function signalOf(options: CallOptions): { signal?: AbortSignal } {
  return options.signal ? { signal: options.signal } : {};
}
