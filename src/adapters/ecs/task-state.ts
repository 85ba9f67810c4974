/**
 * The one reader of ECS task state: DescribeTasks results and "ECS Task State Change" event details
 * (same field names) both go through `readTask`, so the API's view and the events' view of a task
 * never disagree.
 */
import type { Endpoint } from '../../core/model.js';
import type { TaskHealth, TaskState } from '../../core/ports.js';

/** The fields of an ECS task (API or event) this module reads. */
export interface TaskLike {
  readonly lastStatus?: string | undefined;
  readonly desiredStatus?: string | undefined;
  readonly stoppedReason?: string | undefined;
  readonly stopCode?: string | undefined;
  /** The task's health: HEALTHY, UNHEALTHY, or UNKNOWN (checks not passed yet, or none defined). */
  readonly healthStatus?: string | undefined;
  readonly attachments?:
    | readonly {
        readonly type?: string | undefined;
        readonly details?: readonly {
          readonly name?: string | undefined;
          readonly value?: string | undefined;
        }[];
      }[]
    | undefined;
}

/**
 * - `stopped`: ECS reports it STOPPED;
 * - `stopping`: asked to stop (desired STOPPED), not stopped yet: it will not come back;
 * - `running`: RUNNING with an address and meant to stay so;
 * - `pending`: anything earlier (PROVISIONING, PENDING, ACTIVATING, RUNNING without an address yet).
 */
export type ReadTask =
  | { readonly phase: 'pending' }
  | { readonly phase: 'running'; readonly endpoint: Endpoint; readonly health: TaskHealth }
  | { readonly phase: 'stopping'; readonly reason: string }
  | { readonly phase: 'stopped'; readonly reason: string };

/** The task's private IPv4 address, from its ENI attachment (`ElasticNetworkInterface` in the API, `eni` in events). */
export function privateIpv4(task: TaskLike): string | null {
  for (const attachment of task.attachments ?? []) {
    if (attachment.type !== 'ElasticNetworkInterface' && attachment.type !== 'eni') continue;
    const address = attachment.details?.find((detail) => detail.name === 'privateIPv4Address')?.value;
    if (address) return address;
  }
  return null;
}

/** ECS's task health for core: UNKNOWN (and absent) is `starting`. */
export function healthOf(task: TaskLike): TaskHealth {
  if (task.healthStatus === 'HEALTHY') return 'healthy';
  if (task.healthStatus === 'UNHEALTHY') return 'unhealthy';
  return 'starting';
}

/** Reads a task; `port` is the sandbox port its endpoint is built with. */
export function readTask(task: TaskLike, port: number): ReadTask {
  const reason = task.stoppedReason ?? task.stopCode ?? 'stopped';
  if (task.lastStatus === 'STOPPED') return { phase: 'stopped', reason };
  if (task.desiredStatus === 'STOPPED') return { phase: 'stopping', reason };
  const host = privateIpv4(task);
  if (task.lastStatus === 'RUNNING' && host) {
    return { phase: 'running', endpoint: { host, port }, health: healthOf(task) };
  }
  return { phase: 'pending' };
}

/** The task's state for core: a task on its way down is `stopped` (it will not come back). */
export function taskStateOf(task: TaskLike, port: number): TaskState {
  const read = readTask(task, port);
  switch (read.phase) {
    case 'stopped':
    case 'stopping':
      return { status: 'stopped', reason: read.reason };
    case 'running':
      return { status: 'running', endpoint: read.endpoint, health: read.health };
    case 'pending':
      return { status: 'pending' };
  }
}
