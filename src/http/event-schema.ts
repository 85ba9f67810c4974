/**
 * The lifecycle event as a zod schema: the one source of docs/events.schema.json (a test checks the
 * file is what this schema produces, and that every event the tests see parses).
 */
import { EVENT_SCHEMA_VERSION, EXPIRING, STATE_CHANGE } from '../core/events.js';
import { SANDBOX_STATUSES, STOP_REASONS } from '../core/model.js';
import * as z from '../zod.js';

const time = (description: string) => z.string().check(z.iso.datetime(), z.meta({ description }));
const nullableTime = (description: string) =>
  z.nullable(z.string().check(z.iso.datetime(), z.meta({ description })));

export const SandboxEventDetailSchema = z.strictObject({
  schemaVersion: z.literal(EVENT_SCHEMA_VERSION),
  tenant: z.string(),
  ownerId: z.nullable(z.string()),
  chatId: z.string(),
  sessionId: z.string(),
  agentId: z.string(),
  profile: z.string(),
  status: z.enum(SANDBOX_STATUSES),
  previousStatus: z
    .nullable(z.enum(SANDBOX_STATUSES))
    .check(z.meta({ description: 'The status before this change; null for a new session.' })),
  stopReason: z.nullable(z.enum(STOP_REASONS)),
  endpoint: z.nullable(z.strictObject({ host: z.string(), port: z.int() })),
  createdAt: time('When the session was created.'),
  lastActiveAt: time('The last get-or-create or keepalive, as of this event.'),
  expiresAt: time('The expiry as of this event; a reuse or keepalive moves it without an event.'),
  maxExpiresAt: time('The lifetime cap.'),
  runningAt: nullableTime('When the sandbox became running.'),
  stoppedAt: nullableTime('When it stopped.'),
  sequence: z.int().check(
    z.minimum(1),
    z.meta({
      description: "The session record's version at this change: strictly increasing per session.",
    }),
  ),
  expiry: z.optional(
    z
      .enum(['idle', 'lifetime'])
      .check(z.meta({ description: 'Sandbox Expiring only: which limit is coming.' })),
  ),
});

export const SandboxEventSchema = z
  .strictObject({
    id: z.string().check(
      z.meta({
        description: '`<sessionId>/<sequence>/<state|expiring>`: the same change always has the same id.',
      }),
    ),
    type: z.enum([STATE_CHANGE, EXPIRING]),
    time: time('When the change was made.'),
    detail: SandboxEventDetailSchema,
  })
  .check(
    z.meta({ title: 'Sandbox lifecycle event', description: 'One change of a sandbox (docs/events.md).' }),
  );

/** docs/events.schema.json, as text. */
export function eventJsonSchema(): string {
  return `${JSON.stringify(z.toJSONSchema(SandboxEventSchema, { io: 'output' }), null, 2)}\n`;
}
