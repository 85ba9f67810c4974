/**
 * `GET /v1/chats/{chatId}/sandbox/logs`: the output of the chat's latest sandbox, as a tail or
 * followed with a cursor. Mounted where a logs backend is configured (`npm start`; the logs function
 * on AWS), through `AppDeps.moreRoutes`, so the api function's bundle does not carry it.
 */
import type { CoreDeps } from '../../core/deps.js';
import { LOG_BOUNDS, type SandboxLogs } from '../../core/logs-port.js';
import { readSandboxLogs } from '../../core/sandbox-logs.js';
import { ROUTE_PATHS } from '../../names.js';
import * as z from '../../zod.js';
import type { Router } from '../app.js';
import { defineRoute, RETRY_AFTER } from '../route.js';
import { ChatParams, canonicalChatId } from '../schemas.js';

/** The query: `tail` (1-1000, default 100), `since` (ISO date-time), `cursor` (a `nextCursor`). */
export const LogsQuery = z.object({
  tail: z._default(
    z
      .int()
      .check(
        z.minimum(1),
        z.maximum(LOG_BOUNDS.maxLines),
        z.meta({ description: 'Without `cursor`: how many of the last lines to answer.' }),
      ),
    100,
  ),
  since: z.optional(
    z.iso.datetime({ offset: true, error: 'must be an ISO 8601 date-time' }).check(
      z.meta({
        description:
          'Only lines written at or after this time. Applies where line times are known (AWS); local lines have no time and are not filtered.',
        examples: ['2026-11-22T01:02:03.456Z'],
      }),
    ),
  ),
  cursor: z.optional(
    z
      .string()
      .check(
        z.minLength(1),
        z.maxLength(2048),
        z.meta({ description: 'The `nextCursor` of an earlier answer: only lines after it, oldest first.' }),
      ),
  ),
});

const LogLineSchema = z.object({
  time: z.nullable(
    z
      .string()
      .check(z.meta({ format: 'date-time', description: 'When the line was written; null in local mode.' })),
  ),
  message: z.string().check(
    z.meta({
      description: `The line without its newline, as UTF-8 (invalid bytes become U+FFFD), at most ${LOG_BOUNDS.maxLineBytes} bytes.`,
    }),
  ),
  truncated: z.optional(
    z.literal(true).check(
      z.meta({
        description: `Present when the line was longer than ${LOG_BOUNDS.maxLineBytes} bytes and was cut.`,
      }),
    ),
  ),
});

/** The answer: the session read, its lines oldest first, and where to continue. */
export const LogsResponse = z
  .object({
    chatId: z.string(),
    sessionId: z.string().check(
      z.meta({
        description: "The session whose log this is: the chat's latest (a new one after a replacement).",
      }),
    ),
    lines: z.array(LogLineSchema),
    nextCursor: z.string().check(
      z.meta({
        description: 'Where to continue: pass it as `cursor` to get only later lines. Always present.',
      }),
    ),
  })
  .register(z.globalRegistry, { id: 'SandboxLogs' });

/** `GET /v1/chats/{chatId}/sandbox/logs`. */
export const getLogsRoute = defineRoute({
  method: 'get',
  path: ROUTE_PATHS.sandboxLogs,
  operationId: 'getSandboxLogs',
  tags: ['logs'],
  summary: "The output of the chat's latest sandbox: the last lines, or the lines after a cursor",
  description:
    `At most ${LOG_BOUNDS.maxLines} lines and ${LOG_BOUNDS.maxBytes / 1024} KiB of message text per answer. ` +
    'Poll with `nextCursor` to follow the log. A cursor of an earlier session of the chat (it was replaced since) ' +
    "reads the latest session's log from its beginning; `sessionId` says which session answered.",
  params: ChatParams,
  query: LogsQuery,
  answers: {
    200: { description: 'Lines of the log, oldest first', schema: LogsResponse },
    404: { description: 'The chat never had a sandbox', problems: ['sandbox_not_found'] },
    422: {
      description: 'Invalid query, or a cursor this API did not return for this chat (or that expired)',
      problems: ['validation_failed', 'invalid_cursor'],
    },
    503: {
      description: 'The log backend cannot be read right now',
      problems: ['logs_unavailable'],
      headers: RETRY_AFTER,
    },
  },
});

/** What the logs route reads: the session store (for the chat's latest session) and a logs backend. */
export interface LogsRouteDeps {
  readonly core: Pick<CoreDeps, 'store' | 'logger'>;
  readonly logs: SandboxLogs;
}

/** Adds the logs route; each answer reads one piece of the log through `logs`. */
export function registerLogsRoutes(router: Router, { core, logs }: LogsRouteDeps): void {
  router.route(getLogsRoute, async (c, { params, query }) => {
    const chatId = canonicalChatId(params.chatId);
    const page = await readSandboxLogs(
      core,
      logs,
      { tenant: c.get('tenant'), chatId },
      {
        tail: query.tail,
        ...(query.since === undefined ? {} : { since: Date.parse(query.since) }),
        ...(query.cursor === undefined ? {} : { cursor: query.cursor }),
      },
    );
    return c.json(
      {
        chatId,
        sessionId: page.sessionId,
        lines: page.lines.map((line) => ({
          time: line.time === null ? null : new Date(line.time).toISOString(),
          message: line.message,
          ...(line.truncated ? { truncated: true as const } : {}),
        })),
        nextCursor: page.nextCursor,
      },
      200,
    );
  });
}
