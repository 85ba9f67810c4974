/**
 * The ECS Fargate runtime: one task per session, launched with the chat's own task definition, found
 * again by `startedBy` (which ECS repeats in every task event) and by the session id as RunTask's
 * idempotency token.
 */
import {
  ConflictException,
  DescribeTasksCommand,
  type ECSClient,
  ListTasksCommand,
  RunTaskCommand,
  type Task,
} from '@aws-sdk/client-ecs';
import { envRefusal } from '../../core/env-policy.js';
import { LaunchError } from '../../core/errors.js';
import type {
  LaunchResult,
  LaunchSpec,
  LiveTask,
  Logger,
  RuntimeInventory,
  SandboxRuntime,
  StrangerTask,
  TaskState,
} from '../../core/ports.js';
import {
  chatTags,
  encodeStartedBy,
  isEncodableSessionId,
  parseStartedBy,
  TAG_KEYS,
  tagValue,
} from '../aws-naming.js';
import { isCapacityFailure, launchErrorFrom } from '../sdk-errors.js';
import type { ChatVolumes } from './chat-volumes.js';
import type { EcsTasks } from './ecs-tasks.js';
import type { EcsRuntimeSettings } from './settings.js';
import { taskStateOf } from './task-state.js';

/** DescribeTasks accepts at most 100 tasks a call. */
const DESCRIBE_BATCH = 100;
/** ECS limits all container overrides of a RunTask to 8192 characters of JSON. */
const MAX_OVERRIDES_CHARS = 8192;

export interface EcsRuntimeDeps {
  readonly ecs: ECSClient;
  readonly tasks: EcsTasks;
  readonly volumes: ChatVolumes;
  readonly settings: EcsRuntimeSettings;
  readonly logger: Logger;
}

/** `SandboxRuntime` on ECS Fargate with per-chat EFS storage. */
export class EcsSandboxRuntime implements SandboxRuntime {
  constructor(private readonly deps: EcsRuntimeDeps) {}

  async launch(spec: LaunchSpec): Promise<LaunchResult> {
    const { ecs, settings, volumes } = this.deps;
    const profile = settings.profiles[spec.profile];
    if (!profile) throw new LaunchError(`profile '${spec.profile}' is not configured`, false);
    const refusal = envRefusal(spec.env, profile.envAllow);
    if (refusal) throw new LaunchError(refusal, false);
    if (!isEncodableSessionId(spec.sessionId)) {
      throw new LaunchError(`session id '${spec.sessionId}' cannot be carried by startedBy`, false);
    }
    const key = { tenant: spec.tenant, chatId: spec.chatId };
    const hash = await this.deps.tasks.rememberTenant(spec.tenant);
    const taskDefinition = await volumes.taskDefinitionFor(key, spec.profile, spec.sessionId);

    // The same variables local mode gives a sandbox process (docs/agent-contract.md), so one agent
    // runs unchanged in both; HOST is every interface, as the task's ENI must reach it.
    const environment = Object.entries({
      ...spec.env,
      AGENT_ID: spec.agentId,
      CHAT_ID: spec.chatId,
      SESSION_ID: spec.sessionId,
      HOST: '0.0.0.0',
      PORT: String(profile.port),
      CHAT_DIR: settings.mountPaths.chat,
      DEPENDENCIES_DIR: settings.mountPaths.dependencies,
      TOOLS_DIR: settings.mountPaths.tools,
    }).map(([name, value]) => ({ name, value }));
    const overrides = { containerOverrides: [{ name: profile.containerName, environment }] };
    if (JSON.stringify(overrides).length > MAX_OVERRIDES_CHARS) {
      throw new LaunchError('the sandbox environment exceeds the 8192 characters ECS accepts', false);
    }

    try {
      const result = await ecs.send(
        new RunTaskCommand({
          cluster: settings.clusterArn,
          taskDefinition,
          launchType: 'FARGATE',
          platformVersion: 'LATEST',
          count: 1,
          clientToken: spec.sessionId,
          startedBy: encodeStartedBy({
            tenantHash: hash,
            chatId: spec.chatId,
            sessionId: spec.sessionId,
            port: profile.port,
          }),
          networkConfiguration: {
            awsvpcConfiguration: {
              subnets: [...settings.subnetIds],
              securityGroups: [...settings.securityGroupIds],
              assignPublicIp: settings.assignPublicIp,
            },
          },
          overrides,
          enableECSManagedTags: true,
          tags: [
            ...chatTags(key),
            { key: TAG_KEYS.sessionId, value: spec.sessionId },
            { key: TAG_KEYS.agentId, value: tagValue(spec.agentId) },
            { key: TAG_KEYS.profile, value: tagValue(spec.profile) },
          ],
        }),
      );
      const ref = result.tasks?.[0]?.taskArn;
      if (ref) return { ref };
      const failure = result.failures?.[0];
      const reason = failure?.reason ?? 'no task and no failure reason';
      throw new LaunchError(
        `RunTask failed: ${reason}${failure?.detail ? ` (${failure.detail})` : ''}`,
        isCapacityFailure(failure?.reason),
      );
    } catch (error) {
      if (error instanceof LaunchError) throw error;
      // The token was used before with other parameters (a re-issued launch): that task is ours.
      const earlier = error instanceof ConflictException ? error.resourceIds?.[0] : undefined;
      if (earlier) return { ref: earlier };
      throw launchErrorFrom('RunTask', error);
    }
  }

  async describe(ref: string): Promise<TaskState> {
    const { tasks, failures } = await this.deps.ecs.send(
      new DescribeTasksCommand({ cluster: this.deps.settings.clusterArn, tasks: [ref] }),
    );
    const task = tasks?.find((candidate) => candidate.taskArn === ref) ?? tasks?.[0];
    if (task) {
      const owner = parseStartedBy(task.startedBy);
      if (!owner) throw new Error(`task ${ref} was not started by this control plane`);
      return taskStateOf(task, owner.port);
    }
    const reason = failures?.[0]?.reason;
    // MISSING right after RunTask is eventual consistency; core waits out the launch lease.
    if (reason === undefined || reason === 'MISSING') return { status: 'missing' };
    throw new Error(`DescribeTasks failed for ${ref}: ${reason}`);
  }

  stop(ref: string, reason: string): Promise<void> {
    return this.deps.tasks.stop(ref, reason);
  }

  /**
   * Every task of the cluster that is meant to run: those whose `startedBy` names a session of a
   * known tenant, and strangers (the core stops them after a grace).
   */
  async inventory(): Promise<RuntimeInventory> {
    const { ecs, settings } = this.deps;
    const arns: string[] = [];
    let nextToken: string | undefined;
    do {
      const page = await ecs.send(
        new ListTasksCommand({ cluster: settings.clusterArn, desiredStatus: 'RUNNING', nextToken }),
      );
      arns.push(...(page.taskArns ?? []));
      nextToken = page.nextToken;
    } while (nextToken);

    const live: LiveTask[] = [];
    const strangers: StrangerTask[] = [];
    for (let start = 0; start < arns.length; start += DESCRIBE_BATCH) {
      const { tasks } = await ecs.send(
        new DescribeTasksCommand({
          cluster: settings.clusterArn,
          tasks: arns.slice(start, start + DESCRIBE_BATCH),
        }),
      );
      for (const task of tasks ?? []) {
        if (!task.taskArn) continue;
        const owner = await this.deps.tasks.ownerOf(task.startedBy);
        if (!owner) {
          strangers.push({ ref: task.taskArn, startedAt: startedAtOf(task), label: task.startedBy ?? null });
          continue;
        }
        live.push({
          ref: task.taskArn,
          tenant: owner.tenant,
          chatId: owner.chatId,
          sessionId: owner.sessionId,
          startedAt: startedAtOf(task),
        });
      }
    }
    return { tasks: live, strangers };
  }
}

function startedAtOf(task: Task): number {
  return (task.createdAt ?? task.startedAt ?? new Date()).getTime();
}
