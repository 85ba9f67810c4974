import type { Session } from '../core/model.js';
import type * as z from '../zod.js';
import type { Sandbox } from './schemas.js';

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** The API's sandbox resource for a session; internal fields (env, runtime ref, versions) stay inside. */
export function renderSandbox(session: Session): z.infer<typeof Sandbox> {
  return {
    chatId: session.chatId,
    sessionId: session.sessionId,
    agentId: session.agentId,
    profile: session.profile,
    ownerId: session.ownerId,
    status: session.status,
    endpoint: session.endpoint,
    createdAt: iso(session.createdAt),
    lastActiveAt: iso(session.lastActiveAt),
    expiresAt: iso(session.expiresAt),
    maxExpiresAt: iso(session.maxExpiresAt),
    stoppedAt: session.stoppedAt === null ? null : iso(session.stoppedAt),
    stopReason: session.stopReason,
    metadata: { ...session.metadata },
  };
}
