/**
 * The state machine, walked exhaustively against DynamoDB Local: every transition from every status.
 * A transition's write succeeds exactly when the stored status is one of its `from` states, and then
 * leaves the session in its `to` state.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { DynamoSessionStore } from '../../src/adapters/dynamodb/session-store.js';
import { DEFAULT_LIFECYCLE } from '../../src/core/lifecycle.js';
import { SANDBOX_STATUSES, type SandboxStatus, type Session } from '../../src/core/model.js';
import {
  TRANSITIONS,
  type TransitionInputs,
  type TransitionName,
  write,
} from '../../src/core/state-machine.js';
import { createTestTable } from '../support/dynamo.js';
import { T0 } from '../support/fakes.js';

const INPUTS: TransitionInputs = {
  touch: { idleTimeoutSeconds: 600 },
  recordLaunch: { ref: 'task/1' },
  deferLaunch: { detail: 'throttled' },
  failLaunch: { detail: 'refused' },
  promote: { endpoint: { host: '10.0.0.1', port: 8000 }, ref: 'task/1', eventVersion: 3 },
  stop: { reason: 'deleted' },
  expire: {},
  exit: { detail: 'exited with code 0', eventVersion: 4 },
  confirmStop: { detail: null },
  retryStop: {},
  failProvisioning: { detail: 'timeout' },
  holdLaunch: {},
  awaitHealthy: { eventVersion: 5 },
  rearm: {},
  announceExpiry: {},
  settle: {},
  clearDue: {},
};

const NAMES = Object.keys(TRANSITIONS) as TransitionName[];

function session(status: SandboxStatus, chatId: string): Session {
  const terminal = status === 'stopped' || status === 'failed';
  return {
    tenant: 'acme',
    chatId,
    sessionId: `00000000-0000-4000-8000-${chatId.slice(-12)}`,
    agentId: 'agent-a',
    profile: 'default',
    ownerId: null,
    status,
    endpoint: status === 'running' ? { host: '10.0.0.1', port: 8000 } : null,
    runtimeRef: status === 'provisioning' ? null : 'task/1',
    createdAt: T0,
    lastActiveAt: T0,
    expiresAt: T0 + 900_000,
    maxExpiresAt: T0 + 28_800_000,
    idleTimeoutSeconds: 900,
    stoppedAt: terminal ? T0 : null,
    runningAt: null,
    expiringAt: null,
    settledAt: null,
    replacedUsage: null,
    stopReason:
      status === 'stopping' || status === 'stopped'
        ? 'deleted'
        : status === 'failed'
          ? 'launch_failed'
          : null,
    statusDetail: null,
    metadata: {},
    env: {},
    version: 1,
    dueAt: T0 + 60_000,
    launchAttempts: 1,
    stopAttempts: status === 'stopping' ? 1 : 0,
    runtimeEventVersion: null,
    ttl: terminal ? T0 / 1000 + 86_400 : null,
  };
}

/** The status `to` names for a session that was in `from`. */
function expectedStatus(name: TransitionName, from: SandboxStatus): SandboxStatus {
  const to = TRANSITIONS[name].to;
  if (to === 'same') return from;
  if (to === 'by state') return from === 'provisioning' ? 'failed' : 'stopped';
  return to;
}

describe('the state machine', () => {
  let store: DynamoSessionStore;
  beforeAll(async () => {
    store = (await createTestTable()).store;
  });

  it('fences every write on the states it may leave', () => {
    for (const name of NAMES) {
      const transition = TRANSITIONS[name];
      const { expect: condition } = write(
        name,
        session(transition.from[0]!, crypto.randomUUID()),
        T0,
        INPUTS[name] as never,
        DEFAULT_LIFECYCLE,
      );
      expect(condition.statusIn, name).toEqual(transition.from);
      if (transition.fence === 'version') expect(condition.version, name).toBe(1);
      if (transition.fence !== 'status') expect(condition.sessionId, name).toBeDefined();
    }
  });

  it('lets a status-fenced write go without a read', () => {
    const { expect: condition } = write('stop', null, T0, { reason: 'deleted' }, DEFAULT_LIFECYCLE, {
      sessionId: 's',
    });
    expect(condition).toEqual({ statusIn: ['provisioning', 'running'], sessionId: 's' });
  });

  it.each(NAMES.flatMap((name) => SANDBOX_STATUSES.map((status) => [name, status] as const)))(
    '%s from %s: succeeds exactly when the status is a from-state, and enters its to-state',
    async (name, status) => {
      const chatId = crypto.randomUUID();
      const seeded = session(status, chatId);
      expect((await store.claim(seeded, null)).ok).toBe(true);
      const { expect: condition, patch } = write(
        name,
        seeded,
        T0 + 1_000,
        INPUTS[name] as never,
        DEFAULT_LIFECYCLE,
      );
      const result = await store.update({ tenant: 'acme', chatId }, condition, patch);
      const allowed = TRANSITIONS[name].from.includes(status);
      expect(result.ok).toBe(allowed);
      if (!result.ok) {
        expect(result.current?.version).toBe(1);
        return;
      }
      expect(result.session.status).toBe(expectedStatus(name, status));
      expect(result.session.version).toBe(2);
      const terminal = result.session.status === 'stopped' || result.session.status === 'failed';
      // A session that ends leaves the due index and gets its TTL; a live one never has a TTL.
      if (terminal && status !== 'stopped' && status !== 'failed') {
        // Due at once: settling (capacity and usage) follows, or the reconciler does it.
        expect(result.session).toMatchObject({ dueAt: T0 + 1_000, endpoint: null, stoppedAt: T0 + 1_000 });
        expect(result.session.ttl).toBeGreaterThan(0);
      }
      if (!terminal) expect(result.session.ttl).toBeNull();
    },
  );

  it('is the table docs/architecture.md shows', () => {
    const doc = readFileSync(new URL('../../docs/architecture.md', import.meta.url), 'utf8');
    for (const name of NAMES) {
      const row = doc.split('\n').find((line) => line.startsWith(`| \`${name}\` |`));
      expect(row, name).toBeDefined();
      expect(row, name).toContain(`| ${TRANSITIONS[name].fence} |`);
    }
  });

  it('loses a version-fenced write to any other write in between', async () => {
    const chatId = crypto.randomUUID();
    const seeded = session('running', chatId);
    await store.claim(seeded, null);
    await store.update(
      { tenant: 'acme', chatId },
      { sessionId: seeded.sessionId },
      { statusDetail: 'touched' },
    );
    const { expect: condition, patch } = write('rearm', seeded, T0, {}, DEFAULT_LIFECYCLE);
    expect((await store.update({ tenant: 'acme', chatId }, condition, patch)).ok).toBe(false);
  });
});
