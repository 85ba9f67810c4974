/**
 * A session record as the store holds it, for tests that seed the table directly: a `provisioning`
 * session of the chat created at `now`, with the defaults of a plain create; `overrides` change any
 * field.
 */
import type { ChatKey, Session } from '../../src/core/model.js';

export function sessionOf(key: ChatKey, now: number, overrides: Partial<Session> = {}): Session {
  return {
    tenant: key.tenant,
    chatId: key.chatId,
    sessionId: crypto.randomUUID(),
    agentId: 'a1',
    profile: 'default',
    ownerId: null,
    status: 'provisioning',
    endpoint: null,
    runtimeRef: null,
    createdAt: now,
    lastActiveAt: now,
    expiresAt: now + 900_000,
    maxExpiresAt: now + 3_600_000,
    idleTimeoutSeconds: 900,
    stoppedAt: null,
    runningAt: null,
    expiringAt: null,
    settledAt: null,
    replacedUsage: null,
    stopReason: null,
    statusDetail: null,
    metadata: {},
    env: {},
    version: 1,
    dueAt: now + 180_000,
    launchAttempts: 0,
    stopAttempts: 0,
    runtimeEventVersion: null,
    ttl: null,
    ...overrides,
  };
}
