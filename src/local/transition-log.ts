/**
 * Local mode's console line for each sandbox transition, so a developer running `npm start` sees a
 * sandbox launch, run, fail or exit without polling, and where its output is when it went wrong.
 */
import { join } from 'node:path';
import { EXPIRING, type SandboxEvent } from '../core/events.js';

export interface TransitionLine {
  readonly level: 'info' | 'warn';
  readonly message: string;
  readonly fields: Record<string, unknown>;
}

/** The line for `event`, or null for one not worth a line. */
export function transitionLine(event: SandboxEvent, dataDir: string): TransitionLine | null {
  const { detail } = event;
  const fields: Record<string, unknown> = { chatId: detail.chatId, sessionId: detail.sessionId };
  const output = join(dataDir, 'logs', `${detail.sessionId}.log`);
  if (event.type === EXPIRING) {
    return {
      level: 'info',
      message: `sandbox expiring (${detail.expiry ?? 'idle'}) at ${detail.expiresAt}`,
      fields,
    };
  }
  switch (detail.status) {
    case 'provisioning':
      if (detail.previousStatus !== null) return null;
      return {
        level: 'info',
        message: `sandbox launching: agent ${detail.agentId}, profile ${detail.profile}`,
        fields,
      };
    case 'running':
      if (detail.previousStatus === 'running') return null;
      return {
        level: 'info',
        message: `sandbox running at ${detail.endpoint ? `${detail.endpoint.host}:${detail.endpoint.port}` : '?'}`,
        fields,
      };
    case 'stopping':
      if (detail.previousStatus === 'stopping') return null;
      return { level: 'info', message: `sandbox stopping (${detail.stopReason ?? 'stop'})`, fields };
    case 'failed':
      return {
        level: 'warn',
        message: `sandbox failed (${detail.stopReason ?? 'failed'}); its output: ${output}`,
        fields,
      };
    case 'stopped':
      if (detail.previousStatus === 'stopped') return null;
      return detail.stopReason === 'exited'
        ? { level: 'warn', message: `sandbox exited on its own; its output: ${output}`, fields }
        : { level: 'info', message: `sandbox stopped (${detail.stopReason ?? 'stopped'})`, fields };
    default:
      return null;
  }
}
