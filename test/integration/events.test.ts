/**
 * Lifecycle events from the session table's change stream on DynamoDB Local: the events every
 * transition emits, in order and exactly once, nothing for writes that change no state, and a
 * consumer that rebuilds every sandbox's state from the events alone after a randomised run.
 */
import fc from 'fast-check';
import { describe, expect, inject, it } from 'vitest';
import { TEST_CREDENTIALS } from '../../src/adapters/dynamodb/client.js';
import { streamArnOf } from '../../src/adapters/dynamodb/ensure-table.js';
import { localStreamsClient, StreamTail } from '../../src/adapters/dynamodb/stream-tail.js';
import { LaunchError } from '../../src/core/errors.js';
import { EXPIRING, type SandboxEvent, STATE_CHANGE } from '../../src/core/events.js';
import { getOrCreate } from '../../src/core/get-or-create.js';
import type { ChatKey, Session } from '../../src/core/model.js';
import { reconcile } from '../../src/core/reconcile.js';
import { onRuntimeEvent } from '../../src/core/runtime-events.js';
import { deleteSandbox, keepalive } from '../../src/core/sandbox-ops.js';
import { SandboxEventSchema } from '../../src/http/event-schema.js';
import { EventHub } from '../../src/local/event-hub.js';
import { createTestTable } from '../support/dynamo.js';
import { coreDeps, silentLogger } from '../support/fakes.js';

const TENANT = 'acme';
const chat = (n: number): ChatKey => ({
  tenant: TENANT,
  chatId: `77777777-7777-4777-8777-${String(n).padStart(12, '0')}`,
});

async function setup() {
  const table = await createTestTable();
  const deps = coreDeps(table.store);
  const hub = new EventHub(silentLogger);
  const streams = localStreamsClient(inject('dynamoEndpoint'), TEST_CREDENTIALS);
  const tail = new StreamTail(
    streams,
    await streamArnOf(table.client, table.tableName),
    (records) => hub.publishRecords(records),
    {
      from: 'oldest',
      logger: silentLogger,
    },
  );
  const events = async (): Promise<SandboxEvent[]> => {
    await tail.drain();
    return hub.since(0).map((entry) => entry.event);
  };
  const session = async (key: ChatKey): Promise<Session> => (await table.store.get(key))!;
  const running = async (key: ChatKey, version?: number) => {
    const current = await session(key);
    return onRuntimeEvent(deps, {
      kind: 'running',
      ...key,
      sessionId: current.sessionId,
      ref: current.runtimeRef!,
      endpoint: { host: '10.0.0.7', port: 8080 },
      ...(version === undefined ? {} : { version }),
    });
  };
  const stopped = async (key: ChatKey, version?: number) => {
    const current = await session(key);
    return onRuntimeEvent(deps, {
      kind: 'stopped',
      ...key,
      sessionId: current.sessionId,
      ref: current.runtimeRef!,
      reason: 'exited with code 0',
      ...(version === undefined ? {} : { version }),
    });
  };
  return { table, deps, hub, events, session, running, stopped, close: () => streams.destroy() };
}

/** What the events say each session went through: `status` for state changes, `expiring` for the rest. */
function story(events: readonly SandboxEvent[], sessionId: string): string[] {
  return events
    .filter((event) => event.detail.sessionId === sessionId)
    .map((event) => (event.type === EXPIRING ? 'expiring' : event.detail.status));
}

describe('lifecycle events', () => {
  it('emits one event per change of status, in order, and none for reuse, keepalive or repeated runtime events', async () => {
    const t = await setup();
    try {
      const { session: created } = await getOrCreate(t.deps, {
        key: chat(1),
        agentId: 'a',
        ownerId: 'alice',
      });
      expect(await t.running(chat(1), 2)).toBe('applied');
      await getOrCreate(t.deps, { key: chat(1), agentId: 'a' });
      await keepalive(t.deps, chat(1));
      // The same ECS event again, and an older one: nothing changes, nothing is emitted.
      await t.running(chat(1), 2);
      await t.running(chat(1), 1);
      await deleteSandbox(t.deps, chat(1));
      await t.stopped(chat(1), 3);
      await t.stopped(chat(1), 3);

      const events = await t.events();
      expect(story(events, created.sessionId)).toEqual(['provisioning', 'running', 'stopping', 'stopped']);
      const details = events.map((event) => event.detail);
      expect(details.map((detail) => detail.previousStatus)).toEqual([
        null,
        'provisioning',
        'running',
        'stopping',
      ]);
      const sequences = details.map((detail) => detail.sequence);
      expect([...sequences].sort((a, b) => a - b)).toEqual(sequences);
      expect(new Set(sequences).size).toBe(sequences.length);
      expect(details[1]).toMatchObject({ endpoint: { host: '10.0.0.7', port: 8080 }, ownerId: 'alice' });
      expect(details[3]).toMatchObject({ stopReason: 'deleted', endpoint: null });
      expect(new Set(events.map((event) => event.id)).size).toBe(events.length);
      expect(events.every((event) => event.type === STATE_CHANGE)).toBe(true);
    } finally {
      t.close();
    }
  });

  it("ends a replaced session with stopped/replaced before its successor's first event", async () => {
    const t = await setup();
    try {
      const first = (await getOrCreate(t.deps, { key: chat(1), agentId: 'a', idleTimeoutSeconds: 60 }))
        .session;
      await t.running(chat(1));
      t.deps.clock.advance(61_000); // expired, still running: the next create replaces it
      const second = (await getOrCreate(t.deps, { key: chat(1), agentId: 'a' })).session;

      const events = await t.events();
      expect(story(events, first.sessionId)).toEqual(['provisioning', 'running', 'stopped']);
      expect(story(events, second.sessionId)).toEqual(['provisioning']);
      const ended = events.find(
        (event) => event.detail.sessionId === first.sessionId && event.detail.status === 'stopped',
      );
      expect(ended!.detail).toMatchObject({
        stopReason: 'replaced',
        previousStatus: 'running',
        endpoint: null,
      });
      expect(events.indexOf(ended!)).toBeLessThan(
        events.findIndex((event) => event.detail.sessionId === second.sessionId),
      );
    } finally {
      t.close();
    }
  });

  it('announces an expiry ahead, announces it again after a keepalive moved it, then expires', async () => {
    const t = await setup();
    try {
      const { session: created } = await getOrCreate(t.deps, {
        key: chat(1),
        agentId: 'a',
        idleTimeoutSeconds: 600,
      });
      await t.running(chat(1));
      const lead = t.deps.config.expiringLeadSeconds * 1000;
      t.deps.clock.advance(600_000 - lead);
      expect((await reconcile(t.deps, { holder: 'test' })).expiringAnnounced).toBe(1);
      // A keepalive after the announcement moves the expiry: it is announced again when it nears.
      t.deps.clock.advance(10_000);
      await keepalive(t.deps, chat(1));
      expect((await reconcile(t.deps, { holder: 'test' })).expiringAnnounced).toBe(0);
      t.deps.clock.advance(600_000 - lead);
      expect((await reconcile(t.deps, { holder: 'test' })).expiringAnnounced).toBe(1);
      t.deps.clock.advance(lead);
      expect((await reconcile(t.deps, { holder: 'test' })).expired).toBe(1);

      const events = await t.events();
      expect(story(events, created.sessionId)).toEqual([
        'provisioning',
        'running',
        'expiring',
        'expiring',
        'stopping',
      ]);
      const announcements = events.filter((event) => event.type === EXPIRING);
      expect(announcements.map((event) => event.detail.expiry)).toEqual(['idle', 'idle']);
      expect(announcements[0]!.detail.expiresAt).not.toBe(announcements[1]!.detail.expiresAt);
      expect(events.at(-1)!.detail.stopReason).toBe('expired');
    } finally {
      t.close();
    }
  });

  it('emits the failure of a launch the runtime refused, and the exit of a task', async () => {
    const t = await setup();
    try {
      t.deps.runtime.failNext = { error: new LaunchError('image not found', false), times: 1 };
      const failed = await getOrCreate(t.deps, { key: chat(1), agentId: 'a' }).catch(() => null);
      expect(failed).toBeNull();
      const failedSession = await t.session(chat(1));
      const { session: second } = await getOrCreate(t.deps, { key: chat(1), agentId: 'a' });
      await t.running(chat(1));
      await t.stopped(chat(1));

      const events = await t.events();
      expect(story(events, failedSession.sessionId)).toEqual(['provisioning', 'failed']);
      expect(events.find((event) => event.detail.status === 'failed')!.detail.stopReason).toBe(
        'launch_failed',
      );
      expect(story(events, second.sessionId)).toEqual(['provisioning', 'running', 'stopped']);
      expect(events.at(-1)!.detail.stopReason).toBe('exited');
    } finally {
      t.close();
    }
  });

  it('lets a consumer rebuild the state of every sandbox from the events alone, after a random run', async () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('create' as const), chat: fc.integer({ min: 1, max: 3 }) }),
      fc.record({ kind: fc.constant('running' as const), chat: fc.integer({ min: 1, max: 3 }) }),
      fc.record({ kind: fc.constant('exit' as const), chat: fc.integer({ min: 1, max: 3 }) }),
      fc.record({ kind: fc.constant('delete' as const), chat: fc.integer({ min: 1, max: 3 }) }),
      fc.record({ kind: fc.constant('keepalive' as const), chat: fc.integer({ min: 1, max: 3 }) }),
      fc.record({ kind: fc.constant('time' as const), seconds: fc.integer({ min: 1, max: 400 }) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 5, maxLength: 25 }), async (ops) => {
        const t = await setup();
        try {
          for (const step of ops) {
            const key = step.kind === 'time' ? null : chat(step.chat);
            const current = key ? await t.table.store.get(key) : null;
            switch (step.kind) {
              case 'create':
                await getOrCreate(t.deps, { key: key!, agentId: 'a', idleTimeoutSeconds: 300 }).catch(
                  () => null,
                );
                break;
              case 'running':
                if (current?.status === 'provisioning' && current.runtimeRef) await t.running(key!);
                break;
              case 'exit':
                if (current?.runtimeRef && current.status !== 'stopped' && current.status !== 'failed')
                  await t.stopped(key!);
                break;
              case 'delete':
                await deleteSandbox(t.deps, key!);
                break;
              case 'keepalive':
                await keepalive(t.deps, key!).catch(() => null);
                break;
              case 'time':
                t.deps.clock.advance(step.seconds * 1000);
                await reconcile(t.deps, { holder: 'test' });
                break;
            }
          }

          // The consumer: the detail with the highest sequence of each session.
          const state = new Map<string, SandboxEvent['detail']>();
          const events = await t.events();
          for (const event of events) expect(SandboxEventSchema.safeParse(event).success).toBe(true);
          for (const event of events) {
            const seen = state.get(event.detail.sessionId);
            if (!seen || event.detail.sequence >= seen.sequence)
              state.set(event.detail.sessionId, event.detail);
          }
          for (const n of [1, 2, 3]) {
            const stored = await t.table.store.get(chat(n));
            const rebuilt = [...state.values()].filter((detail) => detail.chatId === chat(n).chatId);
            if (!stored) {
              expect(rebuilt).toEqual([]);
              continue;
            }
            const mine = state.get(stored.sessionId)!;
            expect(mine).toMatchObject({
              status: stored.status,
              stopReason: stored.stopReason,
              endpoint: stored.endpoint,
              agentId: stored.agentId,
            });
            // Every other session the events named for this chat has ended.
            for (const other of rebuilt.filter((detail) => detail.sessionId !== stored.sessionId)) {
              expect(['stopped', 'failed']).toContain(other.status);
            }
          }
        } finally {
          t.close();
        }
      }),
      { numRuns: 12 },
    );
  });
});
