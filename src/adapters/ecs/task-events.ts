/**
 * "ECS Task State Change" events from EventBridge, parsed with zod and turned into core runtime
 * events. Only what core acts on passes: a task reaching RUNNING (with its address) or STOPPED, of
 * this cluster, started by this control plane for a tenant it knows.
 */
import type { RuntimeEvent } from '../../core/ports.js';
import * as z from '../../zod.js';
import { parseStartedBy } from '../aws-naming.js';
import type { ResolvedOwner } from './ecs-tasks.js';
import { readTask } from './task-state.js';

const Attachment = z.object({
  type: z.optional(z.string()),
  details: z.optional(z.array(z.object({ name: z.optional(z.string()), value: z.optional(z.string()) }))),
});

/** The parts of the event this module reads; ECS adds fields over time, so others are dropped, not refused. */
export const TaskStateChangeEvent = z.object({
  id: z.string(),
  source: z.literal('aws.ecs'),
  'detail-type': z.literal('ECS Task State Change'),
  detail: z.object({
    clusterArn: z.string(),
    taskArn: z.string(),
    lastStatus: z.string(),
    desiredStatus: z.string(),
    version: z.int().check(z.minimum(0)),
    startedBy: z.optional(z.string()),
    stoppedReason: z.optional(z.string()),
    stopCode: z.optional(z.string()),
    healthStatus: z.optional(z.string()),
    attachments: z.optional(z.array(Attachment)),
  }),
});
export type TaskStateChangeEvent = z.infer<typeof TaskStateChangeEvent>;

export type TaskEventTranslation =
  | { readonly kind: 'event'; readonly event: RuntimeEvent }
  | {
      readonly kind: 'ignored';
      readonly reason: IgnoredReason;
      readonly detail: Readonly<Record<string, unknown>>;
    };

export type IgnoredReason =
  | 'malformed_event'
  | 'other_cluster'
  | 'unknown_task'
  | 'unknown_tenant'
  | 'transitional_status'
  | 'no_address';

export interface TaskEventContext {
  readonly clusterArn: string;
  /** Resolves `startedBy`; null when it names no task of this control plane or an unknown tenant. */
  readonly ownerOf: (startedBy: string | undefined) => Promise<ResolvedOwner | null>;
}

/** Turns an EventBridge event into a core runtime event, or says why it is ignored. */
export async function translateTaskEvent(
  input: unknown,
  context: TaskEventContext,
): Promise<TaskEventTranslation> {
  const parsed = TaskStateChangeEvent.safeParse(input);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    return { kind: 'ignored', reason: 'malformed_event', detail: { issues } };
  }
  const { detail } = parsed.data;
  const about = {
    eventId: parsed.data.id,
    ref: detail.taskArn,
    lastStatus: detail.lastStatus,
    version: detail.version,
  };
  if (detail.clusterArn !== context.clusterArn) {
    return { kind: 'ignored', reason: 'other_cluster', detail: { ...about, clusterArn: detail.clusterArn } };
  }
  // Only a stopped task, or one running with its address and meant to stay so, changes a session.
  const started = parseStartedBy(detail.startedBy);
  const read = readTask(detail, started?.port ?? 0);
  if (read.phase === 'stopping') return { kind: 'ignored', reason: 'transitional_status', detail: about };
  if (read.phase === 'pending') {
    const reason =
      detail.lastStatus === 'RUNNING' && detail.desiredStatus === 'RUNNING'
        ? 'no_address'
        : 'transitional_status';
    return { kind: 'ignored', reason, detail: about };
  }

  const owner = await context.ownerOf(detail.startedBy);
  if (!owner) {
    const reason = started ? 'unknown_tenant' : 'unknown_task';
    return { kind: 'ignored', reason, detail: { ...about, startedBy: detail.startedBy ?? null } };
  }
  const base = {
    tenant: owner.tenant,
    chatId: owner.chatId,
    sessionId: owner.sessionId,
    ref: detail.taskArn,
    version: detail.version,
  };
  if (read.phase === 'stopped')
    return { kind: 'event', event: { ...base, kind: 'stopped', reason: read.reason } };
  return { kind: 'event', event: { ...base, kind: 'running', endpoint: read.endpoint, health: read.health } };
}
