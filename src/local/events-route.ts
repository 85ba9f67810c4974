/**
 * `GET /v1/events` (local mode): the caller's tenant's lifecycle events as Server-Sent Events. Each
 * event's SSE id is its position in the event hub; a client that reconnects with `Last-Event-ID`
 * (or `?lastEventId=`) gets every later event the hub still holds, then the new ones as they come.
 * Without either, the stream starts with the events after the moment of the request.
 */
import { streamSSE } from 'hono/streaming';
import type { Router } from '../http/app.js';
import { defineRoute } from '../http/route.js';
import { invalidRequest } from '../http/validation.js';
import * as z from '../zod.js';
import type { EventHub, PositionedEvent } from './event-hub.js';

/** A comment line this often keeps proxies and clients from closing an idle stream. */
const KEEPALIVE_MS = 15_000;

const EventsQuery = z.object({
  lastEventId: z.optional(
    z.string().check(
      z.regex(/^\d{1,15}$/, 'must be an event id from this stream'),
      z.meta({
        description: 'Resume after this event (as the Last-Event-ID header does); 0 replays what is held.',
      }),
    ),
  ),
});

export const eventsRoute = defineRoute({
  method: 'get',
  path: '/v1/events',
  operationId: 'streamEvents',
  tags: ['events'],
  summary: "The tenant's lifecycle events as Server-Sent Events (local mode)",
  description:
    "Each message is one event: `event:` its type (`Sandbox State Change` or `Sandbox Expiring`), `id:` its position, `data:` the event as JSON (`id`, `type`, `time`, `detail`). On AWS the same events go to the stack's EventBridge bus.",
  query: EventsQuery,
  requestHeaders: {
    'Last-Event-ID': {
      description:
        'Resume after this event id (sent by EventSource clients on reconnect); wins over `lastEventId`.',
      schema: z.string().check(z.regex(/^\d{1,15}$/)),
    },
  },
  answers: {
    200: {
      description: 'The event stream',
      mediaType: 'text/event-stream',
      headers: { 'Cache-Control': { description: '`no-cache`: a stream, never stored', schema: z.string() } },
    },
    422: { description: 'Invalid Last-Event-ID', problems: ['validation_failed'] },
  },
});

/** Registers `GET /v1/events` over `hub`. */
export function registerEventRoutes(router: Router, hub: EventHub): void {
  router.route(eventsRoute, async (c, { query }) => {
    const header = c.req.header('last-event-id');
    if (header !== undefined && !/^\d{1,15}$/.test(header)) {
      throw invalidRequest([
        { path: 'header.Last-Event-ID', message: 'must be an event id from this stream' },
      ]);
    }
    const resumeAfter = header ?? query.lastEventId;
    const tenant = c.get('tenant');
    return streamSSE(c, async (stream) => {
      // Subscribe before reading the backlog, so nothing published in between is missed.
      const pending: PositionedEvent[] = [];
      let wake: (() => void) | null = null;
      let open = true;
      const unsubscribe = hub.subscribe((entry) => {
        if (entry === null) open = false;
        else if (entry.event.detail.tenant === tenant) pending.push(entry);
        wake?.();
      });
      let sent = resumeAfter === undefined ? hub.latest : Number(resumeAfter);
      stream.onAbort(() => {
        open = false;
        wake?.();
      });
      const send = async (entry: PositionedEvent) => {
        if (entry.position <= sent) return;
        sent = entry.position;
        await stream.writeSSE({
          id: String(entry.position),
          event: entry.event.type,
          data: JSON.stringify(entry.event),
        });
      };
      try {
        for (const entry of hub.since(sent)) {
          if (entry.event.detail.tenant === tenant) await send(entry);
        }
        while (open || pending.length > 0) {
          const entry = pending.shift();
          if (entry) {
            await send(entry);
            continue;
          }
          if (!open) break;
          const timedOut = await new Promise<boolean>((resolve) => {
            const timer = setTimeout(() => resolve(true), KEEPALIVE_MS);
            wake = () => {
              clearTimeout(timer);
              resolve(false);
            };
          });
          wake = null;
          if (timedOut && open) await stream.write(': keepalive\n\n');
        }
      } catch {
        // The client went away while a message was being written.
      } finally {
        unsubscribe();
      }
    });
  });
}
