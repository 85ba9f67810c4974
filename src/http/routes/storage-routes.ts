/**
 * Chat storage routes: a chat's files and `history.md`, with or without a running sandbox.
 * Mounted where the chat directories are at hand, through `AppDeps.moreRoutes`: local mode
 * (`npm start`) and, on AWS, the storage function (inside the VPC, the file system mounted).
 *
 * - `GET /v1/chats/{chatId}/files` lists files; `PUT|GET|DELETE /v1/chats/{chatId}/file?path=`
 *   writes (atomically), reads (`ETag`, `Range`) and removes one;
 * - `GET|PUT|POST /v1/chats/{chatId}/history` reads, replaces and appends to `history.md`.
 */
import type { Context } from 'hono';
import type { ChatFileInfo } from '../../core/chat-files-port.js';
import { CHAT_PATH_LIMITS, chatPathViolation, HISTORY_FILE } from '../../core/chat-paths.js';
import { purgeChat } from '../../core/chat-purge.js';
import {
  listChatFiles,
  readChatFile,
  readHistory,
  removeChatFile,
  type StorageDeps,
  writeChatFile,
} from '../../core/chat-storage.js';
import { SandboxError } from '../../core/errors.js';
import * as z from '../../zod.js';
import type { Router } from '../app.js';
import { contentTypeOf, limitFile, rangeOf, sendFile } from '../file-answers.js';
import { defineRoute } from '../route.js';
import { ChatParams, canonicalChatId, OwnerIdField } from '../schemas.js';
import { invalidRequest } from '../validation.js';

const FILES_PATH = '/v1/chats/{chatId}/files';
const FILE_PATH = '/v1/chats/{chatId}/file';
const HISTORY_PATH = '/v1/chats/{chatId}/history';

/**
 * `chatPathViolation` as one pattern for the document (segment bounds counted in characters there,
 * in UTF-8 bytes by the server).
 */
const SEGMENT = String.raw`(?!\.\.?(?:/|$))(?!\.sandbox-tmp-)[^/\\\u0000-\u001f\u007f]{1,255}`;
const CHAT_PATH_PATTERN = `^(?![Hh][Ii][Ss][Tt][Oo][Rr][Yy]\\.[Mm][Dd]$)${SEGMENT}(?:/${SEGMENT}){0,${CHAT_PATH_LIMITS.maxDepth - 1}}$`;

const ChatPath = z.string().check(
  z.minLength(1),
  z.maxLength(CHAT_PATH_LIMITS.maxBytes),
  z.superRefine((path, ctx) => {
    const problem = chatPathViolation(path);
    if (problem) ctx.issues.push({ code: 'custom', message: problem, input: path });
  }),
  z.meta({
    pattern: CHAT_PATH_PATTERN,
    description: `A file in the chat's directory: relative, / as the separator, no . or .. or empty segments, no NUL, control characters or backslash, at most ${CHAT_PATH_LIMITS.maxDepth} levels and ${CHAT_PATH_LIMITS.maxBytes} bytes (each segment ${CHAT_PATH_LIMITS.maxSegmentBytes}); not ${HISTORY_FILE} (the history routes own it). Symbolic links are never followed: a path through one is 422.`,
    examples: ['attachments/report.pdf'],
  }),
);

const FileQuery = z.object({ path: ChatPath });
const WriteQuery = z.object({ path: ChatPath, ownerId: z.optional(OwnerIdField) });

const ListQuery = z.object({
  prefix: z.optional(
    z.string().check(
      z.maxLength(CHAT_PATH_LIMITS.maxBytes),
      z.refine((text) => !text.includes('\0'), 'must not contain NUL'),
      z.meta({ description: 'Only paths that start with this text (`attachments/`).' }),
    ),
  ),
  cursor: z.optional(
    z
      .string()
      .check(
        z.minLength(1),
        z.maxLength(2048),
        z.meta({ description: 'The `nextCursor` of the previous page.' }),
      ),
  ),
  limit: z._default(z.int().check(z.minimum(1), z.maximum(1000)), 100),
});

const FileInfo = z
  .object({
    path: z.string(),
    size: z.int(),
    modifiedAt: z.string().check(z.meta({ format: 'date-time' })),
    contentType: z.nullable(
      z.string().check(z.meta({ description: "Known from the file's extension; null otherwise." })),
    ),
    etag: z.string(),
  })
  .register(z.globalRegistry, { id: 'ChatFile' });

const FileList = z
  .object({
    items: z.array(FileInfo),
    totalBytes: z.int().check(z.meta({ description: 'Bytes of every file of the chat (measured now).' })),
    nextCursor: z.nullable(z.string()),
  })
  .register(z.globalRegistry, { id: 'ChatFileList' });

const Written = z
  .object({ file: FileInfo, created: z.boolean() })
  .register(z.globalRegistry, { id: 'ChatFileWritten' });

const Removed = z
  .object({ result: z.enum(['deleted', 'not_found']) })
  .register(z.globalRegistry, { id: 'ChatFileRemoved' });

const text = (description: string) => ({ description, schema: z.string() });
const FILE_HEADERS = {
  ETag: text("The file version's strong validator (send it in If-Match)"),
  'Last-Modified': text('When the file was last written'),
  'Accept-Ranges': text('`bytes`'),
  'Content-Length': { description: 'Bytes in this answer', schema: z.int() },
};
const RANGE_HEADER = text(
  '`bytes=<start>-<end>`, `bytes=<start>-` or `bytes=-<suffix length>`; any other Range is ignored (200)',
);
const RANGE_HEADERS = { ...FILE_HEADERS, 'Content-Range': text('`bytes <start>-<end>/<size>`') };
const TOO_LARGE_TO_ANSWER = {
  description: 'The file is larger than one answer carries (the file size limit): read it in ranges',
  problems: ['payload_too_large'],
} as const;
const RANGE_OUTSIDE = {
  description: 'The range is outside the file',
  problems: ['range_not_satisfiable'],
  headers: { 'Content-Range': text('`bytes */<size>`') },
} as const;
const NOT_FOUND = {
  description: 'No such chat, or no such file',
  problems: ['chat_not_found', 'chat_file_not_found'],
} as const;
const IF_NONE_MATCH = {
  'If-None-Match': text('`*`: only create; an existing file is 412 `precondition_failed`'),
  'If-Match': text('An ETag: only replace that version; another is 412 `precondition_failed`'),
};

export const listFilesRoute = defineRoute({
  method: 'get',
  path: FILES_PATH,
  operationId: 'listChatFiles',
  tags: ['storage'],
  summary: "The chat's files, paged in path order, and the bytes they hold",
  params: ChatParams,
  query: ListQuery,
  answers: {
    200: { description: 'A page of files', schema: FileList },
    404: { description: 'The chat has no sandbox, owner or files', problems: ['chat_not_found'] },
    422: { description: 'Invalid request', problems: ['validation_failed', 'invalid_cursor'] },
  },
});

function writeRoute(
  method: 'put',
  path: string,
  operationId: string,
  summary: string,
  query: typeof WriteQuery,
) {
  return defineRoute({
    method,
    path,
    operationId,
    tags: ['storage'],
    summary,
    params: ChatParams,
    query,
    requestHeaders: IF_NONE_MATCH,
    rawBody: { description: 'The whole file, any media type' },
    answers: {
      200: { description: 'The file was replaced', schema: Written },
      201: { description: 'The file was created', schema: Written },
      409: {
        description: 'The chat belongs to another owner, or is being purged',
        problems: ['owner_conflict', 'chat_purging'],
      },
      412: { description: 'If-None-Match or If-Match does not hold', problems: ['precondition_failed'] },
      413: {
        description: "Over the file size limit, or over the owner's storage quota",
        problems: ['payload_too_large', 'workspace_quota_exceeded'],
      },
      422: { description: 'Invalid path or query', problems: ['validation_failed'] },
    },
  });
}

export const putFileRoute = writeRoute(
  'put',
  FILE_PATH,
  'putChatFile',
  'Write a file into the chat (atomically: a reader sees the old or the new content)',
  WriteQuery,
);

export const getFileRoute = defineRoute({
  method: 'get',
  path: FILE_PATH,
  operationId: 'getChatFile',
  tags: ['storage'],
  summary: 'Read a file of the chat, whole or a byte range',
  params: ChatParams,
  query: FileQuery,
  requestHeaders: { Range: RANGE_HEADER },
  answers: {
    200: { description: 'The file', mediaType: '*/*', headers: FILE_HEADERS },
    206: { description: 'The range asked for', mediaType: '*/*', headers: RANGE_HEADERS },
    404: NOT_FOUND,
    413: TOO_LARGE_TO_ANSWER,
    416: RANGE_OUTSIDE,
    422: { description: 'Invalid path', problems: ['validation_failed'] },
  },
});

export const deleteFileRoute = defineRoute({
  method: 'delete',
  path: FILE_PATH,
  operationId: 'deleteChatFile',
  tags: ['storage'],
  summary: 'Remove a file of the chat (idempotent)',
  params: ChatParams,
  query: FileQuery,
  answers: {
    200: { description: 'Removed, or there was none', schema: Removed },
    409: { description: 'The chat is being purged', problems: ['chat_purging'] },
    422: { description: 'Invalid path', problems: ['validation_failed'] },
  },
});

export const getHistoryRoute = defineRoute({
  method: 'get',
  path: HISTORY_PATH,
  operationId: 'getChatHistory',
  tags: ['storage'],
  summary: "The chat's history.md (created empty with the chat's layout), whole or a byte range",
  params: ChatParams,
  requestHeaders: { Range: RANGE_HEADER },
  answers: {
    200: { description: 'history.md', mediaType: 'text/markdown', headers: FILE_HEADERS },
    206: { description: 'The range asked for', mediaType: 'text/markdown', headers: RANGE_HEADERS },
    404: { description: 'The chat has no sandbox, owner or files', problems: ['chat_not_found'] },
    413: TOO_LARGE_TO_ANSWER,
    416: RANGE_OUTSIDE,
    422: { description: 'Invalid chat id', problems: ['validation_failed'] },
  },
});

const HistoryQuery = z.object({ ownerId: z.optional(OwnerIdField) });

function historyWriteRoute(method: 'put' | 'post', operationId: string, summary: string) {
  return defineRoute({
    method,
    path: HISTORY_PATH,
    operationId,
    tags: ['storage'],
    summary,
    params: ChatParams,
    query: HistoryQuery,
    rawBody: { description: 'Markdown text (any media type is taken as bytes)' },
    answers: {
      200: { description: 'The history after the write', schema: Written },
      201: { description: 'The history was created by this write', schema: Written },
      409: {
        description: 'The chat belongs to another owner, or is being purged',
        problems: ['owner_conflict', 'chat_purging'],
      },
      413: {
        description: "Over the file size limit, or over the owner's storage quota",
        problems: ['payload_too_large', 'workspace_quota_exceeded'],
      },
      422: { description: 'Invalid request', problems: ['validation_failed'] },
    },
  });
}

export const putHistoryRoute = historyWriteRoute('put', 'putChatHistory', "Replace the chat's history.md");
export const appendHistoryRoute = historyWriteRoute(
  'post',
  'appendChatHistory',
  "Append to the chat's history.md",
);

const Purge = z
  .object({
    result: z.enum(['purging', 'not_found']),
    purgingAt: z.nullable(z.string().check(z.meta({ format: 'date-time' }))),
  })
  .register(z.globalRegistry, { id: 'ChatPurge' });

export const purgeChatRoute = defineRoute({
  method: 'delete',
  path: '/v1/chats/{chatId}',
  operationId: 'purgeChat',
  tags: ['storage'],
  summary: 'Purge the chat: its files, history, records and storage figures (the only way they are deleted)',
  description:
    'Answers 202 at once: from then on the chat takes no new sandbox and no writes (409 chat_purging), and the first reconciler pass at least 15 s later removes everything (the directory, the records and, on AWS, the access point and task definitions of the chat) (a purge cut short is finished by a later pass). Purging again answers the same. A chat with a live sandbox is 409 chat_has_active_sandbox: delete the sandbox first.',
  params: ChatParams,
  answers: {
    200: { description: 'The chat has nothing to purge', schema: Purge },
    202: { description: 'The purge is under way', schema: Purge },
    409: { description: 'The chat has a live sandbox', problems: ['chat_has_active_sandbox'] },
    422: { description: 'Invalid chat id', problems: ['validation_failed'] },
  },
});

/** Every storage route, for the committed contract. */
export const STORAGE_ROUTES = [
  listFilesRoute,
  putFileRoute,
  getFileRoute,
  deleteFileRoute,
  getHistoryRoute,
  putHistoryRoute,
  appendHistoryRoute,
  purgeChatRoute,
] as const;

function renderFile(info: ChatFileInfo) {
  return {
    path: info.path,
    size: info.size,
    modifiedAt: new Date(info.modifiedAt).toISOString(),
    contentType: contentTypeOf(info.path),
    etag: info.etag,
  };
}

/** The list cursor: the last path of the page, as base64url. */
function encodeCursor(path: string): string {
  return Buffer.from(path, 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): string {
  const path = Buffer.from(cursor, 'base64url').toString('utf8');
  if (encodeCursor(path) !== cursor || chatPathViolation(path, { history: true }) !== null) {
    throw new SandboxError('invalid_cursor', 'The cursor is not one this API returned.');
  }
  return path;
}

/** Registers the storage routes over `deps`. */
export function registerStorageRoutes(router: Router, deps: StorageDeps): void {
  const keyOf = (c: Context, chatId: string) => ({
    tenant: c.get('tenant'),
    chatId: canonicalChatId(chatId),
  });
  const limit = [limitFile(deps.config.maxFileBytes)];
  const bodyOf = async (c: Context) => Buffer.from(await c.req.arrayBuffer());
  const precondition = (c: Context) => {
    const none = c.req.header('if-none-match');
    if (none !== undefined && none.trim() !== '*') {
      throw invalidRequest([{ path: 'header.If-None-Match', message: 'only * is supported' }]);
    }
    const match = c.req.header('if-match')?.trim();
    return {
      exclusive: none !== undefined,
      ...(match === undefined ? {} : match === '*' ? { mustExist: true } : { ifMatch: match }),
    };
  };

  router.route(listFilesRoute, async (c, { params, query }) => {
    const { page, totalBytes } = await listChatFiles(deps, keyOf(c, params.chatId), {
      limit: query.limit,
      ...(query.prefix ? { prefix: query.prefix } : {}),
      ...(query.cursor ? { after: decodeCursor(query.cursor) } : {}),
    });
    return c.json(
      {
        items: page.items.map(renderFile),
        totalBytes,
        nextCursor: page.next === null ? null : encodeCursor(page.next),
      },
      200,
    );
  });

  router.route({ ...putFileRoute, before: limit }, async (c, { params, query }) => {
    const written = await writeChatFile(deps, keyOf(c, params.chatId), query.path, await bodyOf(c), {
      ...precondition(c),
      ...(query.ownerId ? { ownerId: query.ownerId } : {}),
    });
    return c.json({ file: renderFile(written.info), created: written.created }, written.created ? 201 : 200);
  });

  router.route(getFileRoute, async (c, { params, query }) => {
    const read = await readChatFile(deps, keyOf(c, params.chatId), query.path, rangeOf(c));
    c.header('Content-Type', contentTypeOf(query.path) ?? 'application/octet-stream');
    return sendFile(c, read);
  });

  router.route(deleteFileRoute, async (c, { params, query }) => {
    const removed = await removeChatFile(deps, keyOf(c, params.chatId), query.path);
    return c.json({ result: removed ? ('deleted' as const) : ('not_found' as const) }, 200);
  });

  router.route(getHistoryRoute, async (c, { params }) => {
    const read = await readHistory(deps, keyOf(c, params.chatId), rangeOf(c));
    c.header('Content-Type', 'text/markdown; charset=utf-8');
    return sendFile(c, read);
  });

  router.route(purgeChatRoute, async (c, { params }) => {
    const purge = await purgeChat(deps, keyOf(c, params.chatId));
    const body = {
      result: purge.result,
      purgingAt: purge.purgingAt === null ? null : new Date(purge.purgingAt).toISOString(),
    };
    return purge.result === 'purging' ? c.json(body, 202) : c.json(body, 200);
  });

  for (const spec of [putHistoryRoute, appendHistoryRoute]) {
    router.route({ ...spec, before: limit }, async (c, { params, query }) => {
      const written = await writeChatFile(deps, keyOf(c, params.chatId), HISTORY_FILE, await bodyOf(c), {
        exclusive: false,
        append: spec.method === 'post',
        ...(query.ownerId ? { ownerId: query.ownerId } : {}),
      });
      return c.json(
        { file: renderFile(written.info), created: written.created },
        written.created ? 201 : 200,
      );
    });
  }
}
