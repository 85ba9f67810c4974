/**
 * Reading ECS tasks: the endpoint from the ENI attachment and the task's state in core's terms. Works
 * on DescribeTasks results and on "ECS Task State Change" event details alike (same field names).
 */
import type { Endpoint } from '../../core/model.js';
import type { TaskState } from '../../core/ports.js';

/** The fields of an ECS task (API or event) this module reads. */
export interface TaskLike {
  readonly lastStatus?: string | undefined;
  readonly desiredStatus?: string | undefined;
  readonly stoppedReason?: string | undefined;
  readonly stopCode?: string | undefined;
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

/** The task's private IPv4 address, from its ENI attachment (`ElasticNetworkInterface` in the API, `eni` in events). */
export function privateIpv4(task: TaskLike): string | null {
  for (const attachment of task.attachments ?? []) {
    if (attachment.type !== 'ElasticNetworkInterface' && attachment.type !== 'eni') continue;
    const address = attachment.details?.find((detail) => detail.name === 'privateIPv4Address')?.value;
    if (address) return address;
  }
  return null;
}

/** Why a stopped task stopped, for operators. */
export function stopReasonOf(task: TaskLike): string {
  return task.stoppedReason ?? task.stopCode ?? 'stopped';
}

/** Whether the task has ended or is on its way down (asked to stop). */
export function isStopping(task: TaskLike): boolean {
  return task.lastStatus === 'STOPPED' || task.desiredStatus === 'STOPPED';
}

/**
 * The task's state for core: stopping or stopped tasks are `stopped` (they will not come back);
 * `RUNNING` with an address is `running`; anything earlier is `pending`.
 */
export function taskStateOf(task: TaskLike, port: number): TaskState {
  if (isStopping(task)) return { status: 'stopped', reason: stopReasonOf(task) };
  const host = privateIpv4(task);
  if (task.lastStatus === 'RUNNING' && host) return { status: 'running', endpoint: { host, port } };
  return { status: 'pending' };
}

/** The endpoint of a running task, or null if it has no address yet. */
export function endpointOf(task: TaskLike, port: number): Endpoint | null {
  const host = privateIpv4(task);
  return host ? { host, port } : null;
}
