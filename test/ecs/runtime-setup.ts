/** What the runtime tests share: one chat of one tenant, and a runtime over DynamoDB Local and mocked clients. */
import { ECSClient } from '@aws-sdk/client-ecs';
import { EFSClient } from '@aws-sdk/client-efs';
import { encodeStartedBy, tenantHash } from '../../src/adapters/aws-naming.js';
import type { DynamoVolumeStore } from '../../src/adapters/dynamodb/volume-store.js';
import { ChatVolumes } from '../../src/adapters/ecs/chat-volumes.js';
import { EcsSandboxRuntime } from '../../src/adapters/ecs/ecs-runtime.js';
import { EcsTasks } from '../../src/adapters/ecs/ecs-tasks.js';
import type { EcsRuntimeSettings } from '../../src/adapters/ecs/settings.js';
import { EfsAccessPoints } from '../../src/adapters/efs/access-points.js';
import type { LaunchSpec } from '../../src/core/ports.js';
import { ManualClock, silentLogger } from '../support/fakes.js';
import { SETTINGS } from './fixtures.js';

export const TENANT = 'arn:aws:iam::111122223333:role/agent-alpha';
export const CHAT = '11111111-1111-4111-8111-111111111111';
export const SESSION = '3701cfe3-e05e-48af-8385-442dcd954ca2';
export const SPEC: LaunchSpec = {
  tenant: TENANT,
  chatId: CHAT,
  sessionId: SESSION,
  agentId: 'agent-alpha',
  profile: 'default',
  env: { TEAM: 'search' },
};
export const FAMILY = `sbx-chat-${tenantHash(TENANT)}-${CHAT}`;
export const STARTED_BY = encodeStartedBy({
  tenantHash: tenantHash(TENANT),
  chatId: CHAT,
  sessionId: SESSION,
  port: 8000,
});

/** A runtime whose clients aws-sdk-client-mock answers and whose volume records live in `store`. */
export function runtimeWith(
  store: DynamoVolumeStore,
  settings: EcsRuntimeSettings = SETTINGS,
): EcsSandboxRuntime {
  const ecs = new ECSClient({ region: 'us-west-2' });
  const efs = new EFSClient({ region: 'us-west-2' });
  const clock = new ManualClock();
  const accessPoints = new EfsAccessPoints({
    efs,
    fileSystemId: settings.fileSystemId,
    owner: settings.chatOwner,
    clock,
    logger: silentLogger,
  });
  const volumes = new ChatVolumes({ ecs, accessPoints, store, settings, clock, logger: silentLogger });
  const tasks = new EcsTasks({ ecs, clusterArn: settings.clusterArn, tenants: store });
  return new EcsSandboxRuntime({ ecs, tasks, volumes, settings, logger: silentLogger });
}

/** A chat of its own per test, so volume records never leak between tests. */
export function freshSpec(): LaunchSpec {
  return { ...SPEC, chatId: crypto.randomUUID() };
}
