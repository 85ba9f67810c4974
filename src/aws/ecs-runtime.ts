/**
 * The ECS Fargate runtime and its parts, as the api and reconciler functions build it: the ECS and
 * EFS clients, the chat volumes, the access points, the tasks and the runtime over them.
 */
import type { createDynamoClient } from '../adapters/dynamodb/client.js';
import { DynamoVolumeStore } from '../adapters/dynamodb/volume-store.js';
import { ChatVolumes } from '../adapters/ecs/chat-volumes.js';
import { createEcsClient } from '../adapters/ecs/client.js';
import { EcsSandboxRuntime } from '../adapters/ecs/ecs-runtime.js';
import { EcsTasks } from '../adapters/ecs/ecs-tasks.js';
import type { EcsRuntimeSettings } from '../adapters/ecs/settings.js';
import { EfsAccessPoints } from '../adapters/efs/access-points.js';
import { createEfsClient } from '../adapters/efs/client.js';
import type { Clock, Logger } from '../core/ports.js';

type ECSClient = ReturnType<typeof createEcsClient>;
type EFSClient = ReturnType<typeof createEfsClient>;

export interface EcsRuntimeParts {
  readonly ecs: ECSClient;
  readonly runtime: EcsSandboxRuntime;
  readonly volumes: ChatVolumes;
  readonly volumeStore: DynamoVolumeStore;
  readonly accessPoints: EfsAccessPoints;
}

export function ecsRuntimeParts(options: {
  readonly dynamodb: ReturnType<typeof createDynamoClient>;
  /** Wraps each SDK client (X-Ray capture). */
  readonly capture: <C extends ECSClient | EFSClient>(client: C) => C;
  readonly tableName: string;
  readonly settings: EcsRuntimeSettings;
  readonly clock: Clock;
  readonly logger: Logger;
}): EcsRuntimeParts {
  const { settings, clock, logger } = options;
  const ecs = options.capture(createEcsClient());
  const efs = options.capture(createEfsClient());
  const volumeStore = new DynamoVolumeStore(options.dynamodb, options.tableName);
  const accessPoints = new EfsAccessPoints({
    efs,
    fileSystemId: settings.fileSystemId,
    owner: settings.chatOwner,
    clock,
    logger,
  });
  const volumes = new ChatVolumes({ ecs, accessPoints, store: volumeStore, settings, clock, logger });
  const tasks = new EcsTasks({ ecs, clusterArn: settings.clusterArn, tenants: volumeStore });
  const runtime = new EcsSandboxRuntime({ ecs, tasks, volumes, settings, logger });
  return { ecs, runtime, volumes, volumeStore, accessPoints };
}
