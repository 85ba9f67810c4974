/**
 * The shapes the client sends and receives, derived from the API's zod schemas with `z.infer`. Every
 * import here is type-only, so the client's bundle carries no zod and none of the server.
 */
import type { SandboxEvent } from '../core/events.js';
import type { SandboxStatus } from '../core/model.js';
import type { LogsResponse } from '../http/routes/logs-routes.js';
import type {
  appendHistoryRoute,
  deleteFileRoute,
  listFilesRoute,
  purgeChatRoute,
  putFileRoute,
  putHistoryRoute,
} from '../http/routes/storage-routes.js';
import type {
  DeleteResponse,
  GetOrCreateBody,
  GetOrCreateResponse,
  HealthResponse,
  ListResponse,
  ProblemSchema,
  Sandbox as SandboxSchema,
  UsageQuery as UsageQuerySchema,
  UsageResponse,
} from '../http/schemas.js';
import type * as z from '../zod.js';

export type { ErrorCode } from '../core/errors.js';
export type { SandboxEvent, SandboxEventDetail, SandboxEventType } from '../core/events.js';
export type { SandboxStatus, StopReason } from '../core/model.js';

/** A chat's sandbox as the API renders it; times are ISO 8601. */
export type Sandbox = z.infer<typeof SandboxSchema>;
/** The body of `PUT /v1/chats/{chatId}/sandbox`; `waitSeconds` holds the answer while it provisions. */
export type GetOrCreateRequest = z.input<typeof GetOrCreateBody>;
export type GetOrCreateResult = z.infer<typeof GetOrCreateResponse>;
export type DeleteResult = z.infer<typeof DeleteResponse>;
export type SandboxPage = z.infer<typeof ListResponse>;
export type Health = z.infer<typeof HealthResponse>;
export type Usage = z.infer<typeof UsageResponse>;
export type UsageQuery = z.input<typeof UsageQuerySchema>;
/** An RFC 9457 problem body of the API. */
export type Problem = z.infer<typeof ProblemSchema>;
export type FieldError = NonNullable<Problem['errors']>[number];
export type QuotaLimit = NonNullable<Problem['limit']>;

/** `GET /v1/sandboxes`: `status` is one status or several (sent as a comma list). */
export interface ListQuery {
  readonly status?: SandboxStatus | readonly SandboxStatus[];
  readonly agentId?: string;
  readonly ownerId?: string;
  /** Page size, 1-100 (the server's default is 50). */
  readonly limit?: number;
  /** `nextCursor` of the previous page. */
  readonly cursor?: string;
}

/** `GET /v1/chats/{chatId}/sandbox/logs`. */
export interface LogsQuery {
  /** How many of the latest lines, 1-1000 (the server's default is 100). */
  readonly tail?: number;
  /** Only lines from this time on. */
  readonly since?: Date | string;
  /** `nextCursor` of the previous page: only lines written after it. */
  readonly cursor?: string;
}

/** An answer of the logs route: pass `nextCursor` back as `cursor` for the lines after these. */
export type LogsPage = z.infer<typeof LogsResponse>;
/** One line of a sandbox's output; `time` is null when the runtime recorded none (local mode). */
export type LogLine = LogsPage['lines'][number];

/** One Server-Sent Events message of `GET /v1/events`. */
export interface EventMessage {
  /** The event's position in the stream: resume after it with `lastEventId`. */
  readonly id: string | null;
  /** The SSE event name: the event's type. */
  readonly event: string;
  readonly data: SandboxEvent;
}

/** The JSON schema a route answers `status` with. */
type AnswerSchema<Route, Status extends number> = Route extends {
  readonly answers: { readonly [S in Status]: { readonly schema: infer Schema extends z.ZodMiniType } };
}
  ? Schema
  : never;

/** A page of `GET /v1/chats/{chatId}/files`: pass `nextCursor` back as `cursor` for the next. */
export type ChatFileList = z.infer<AnswerSchema<typeof listFilesRoute, 200>>;
/** A file of a chat as the storage routes describe it; `modifiedAt` is ISO 8601. */
export type ChatFile = ChatFileList['items'][number];
/** `GET /v1/chats/{chatId}/files`: `prefix` (`attachments/`), `cursor`, `limit` (1-1000, default 100). */
export type ChatFilesQuery = z.input<(typeof listFilesRoute)['query']>;
/** The answer of a file or history write: the file as written, and whether this write created it. */
export type ChatFileWritten = z.infer<AnswerSchema<typeof putFileRoute, 201>>;
/** `DELETE /v1/chats/{chatId}/file`: `not_found` when there was no such file. */
export type ChatFileRemoved = z.infer<AnswerSchema<typeof deleteFileRoute, 200>>;
/** `DELETE /v1/chats/{chatId}`: `purging` (under way; about 15 s until everything is gone) or `not_found`. */
export type ChatPurge = z.infer<AnswerSchema<typeof purgeChatRoute, 202>>;

/** Compiles only when `A` and `B` are one type. */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Holds<T extends true> = T;
/** Every write route (files and history) answers 200 and 201 with the one `ChatFileWritten` shape. */
export type WritesAnswerOneShape = [
  Holds<Same<ChatFileWritten, z.infer<AnswerSchema<typeof putFileRoute, 200>>>>,
  Holds<Same<ChatFileWritten, z.infer<AnswerSchema<typeof putHistoryRoute, 200 | 201>>>>,
  Holds<Same<ChatFileWritten, z.infer<AnswerSchema<typeof appendHistoryRoute, 200 | 201>>>>,
];

/** The bytes `getFile` asks for: `start` to `end` (inclusive; absent, to the end), or the last `suffix`. */
export type FileRange = { readonly start: number; readonly end?: number } | { readonly suffix: number };

/** A file read with `getFile`. */
export interface ChatFileContent {
  /** The file's bytes, or those of the range asked for. */
  readonly body: Uint8Array;
  /** The version's strong validator: send it as `ifMatch` to replace only this version. */
  readonly etag: string;
  /** Bytes of the whole file (with a range, more than `body` holds). */
  readonly size: number;
  /** `Content-Type` of the answer: known from the file's extension, else `application/octet-stream`. */
  readonly contentType: string;
  /** `Last-Modified` as ISO 8601 (whole seconds); null when the answer had none. */
  readonly modifiedAt: string | null;
  /** The bytes `body` holds (inclusive), when a range was asked for and answered (206). */
  readonly range?: { readonly start: number; readonly end: number };
}
