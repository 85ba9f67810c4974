/** The ECS Fargate runtime and its parts, as the api and reconciler functions build it. */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { ECSClient } from '@aws-sdk/client-ecs';
import type { EFSClient } from '@aws-sdk/client-efs';
import { DynamoVolumeStore } from '../adapters/dynamodb/volume-store.js';
import { ChatVolumes } from '../adapters/ecs/chat-volumes.js';
import { EcsSandboxRuntime } from '../adapters/ecs/ecs-runtime.js';
import { EcsTasks } from '../adapters/ecs/ecs-tasks.js';
import type { EcsRuntimeSettings } from '../adapters/ecs/settings.js';
import { EfsAccessPoints } from '../adapters/efs/access-points.js';
import type { Clock, Logger } from '../core/ports.js';

export interface EcsRuntimeParts {
  readonly runtime: EcsSandboxRuntime;
  readonly volumes: ChatVolumes;
  readonly volumeStore: DynamoVolumeStore;
  readonly accessPoints: EfsAccessPoints;
}

export function ecsRuntimeParts(options: {
  readonly dynamodb: DynamoDBClient;
  readonly ecs: ECSClient;
  readonly efs: EFSClient;
  readonly tableName: string;
  readonly settings: EcsRuntimeSettings;
  readonly clock: Clock;
  readonly logger: Logger;
}): EcsRuntimeParts {
  const { ecs, efs, settings, clock, logger } = options;
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
  return { runtime, volumes, volumeStore, accessPoints };
}
