/**
 * The composition root of the Lambda functions: configuration, SDK clients, adapters, core deps and
 * observability, built once per cold start. Each function module calls `createAwsDeps` at module
 * scope. Tests inject clients (or mock every instance with aws-sdk-client-mock).
 */

import { DynamoSessionStore } from '../adapters/dynamodb/session-store.js';
import { DynamoVolumeStore } from '../adapters/dynamodb/volume-store.js';
import type { AwsClients } from '../adapters/ecs/aws-clients.js';
import { createAwsClients } from '../adapters/ecs/aws-clients.js';
import { ChatVolumes } from '../adapters/ecs/chat-volumes.js';
import { EcsSandboxRuntime } from '../adapters/ecs/ecs-runtime.js';
import type { TaskEventContext } from '../adapters/ecs/task-events.js';
import { VolumeRetirer } from '../adapters/ecs/volume-retirer.js';
import type { CoreDeps } from '../core/deps.js';
import { randomIds, systemClock } from '../core/system.js';
import type { AppDeps } from '../http/app.js';
import { MeteredRuntime } from '../observability/metrics.js';
import { coreLogger, createObservability, type Observability } from '../observability/powertools.js';
import { VERSION } from '../version.js';
import { apiGatewayAuth } from './api-auth.js';
import { type AwsConfig, parseAwsConfig } from './aws-config.js';
import { lambdaAnswerBy } from './lambda-answer-by.js';

export interface AwsDeps {
  readonly config: AwsConfig;
  readonly observability: Observability;
  /** Core's dependencies; the runtime in them counts launches and live sandboxes. */
  readonly core: CoreDeps;
  /** What the task-events function needs to read an ECS event. */
  readonly taskEvents: TaskEventContext;
  readonly retirer: VolumeRetirer;
  /** The HTTP app's dependencies (api function). */
  readonly app: AppDeps;
}

export interface AwsDepsOptions {
  /** @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  /** @default clients built from the configuration */
  readonly clients?: AwsClients;
}

/** Builds everything a function needs; throws `ConfigError` naming any bad variable. */
export function createAwsDeps(serviceName: string, options: AwsDepsOptions = {}): AwsDeps {
  const config = parseAwsConfig(options.env ?? process.env);
  const observability = createObservability(serviceName);
  const { metrics, tracer } = observability;
  const logger = coreLogger(observability.logger);
  const clients = options.clients ?? createAwsClients({ dynamodbEndpoint: config.dynamodbEndpoint });
  const dynamodb = tracer.captureAWSv3Client(clients.dynamodb);
  const ecs = tracer.captureAWSv3Client(clients.ecs);
  const efs = tracer.captureAWSv3Client(clients.efs);

  const store = new DynamoSessionStore(dynamodb, config.tableName);
  const volumeStore = new DynamoVolumeStore(dynamodb, config.tableName);
  const settings = config.runtime;
  const volumes = new ChatVolumes({ ecs, efs, store: volumeStore, settings, clock: systemClock, logger });
  const runtime = new EcsSandboxRuntime({ ecs, volumes, tenants: volumeStore, settings, logger });
  const core: CoreDeps = {
    store,
    runtime: new MeteredRuntime(runtime, metrics),
    clock: systemClock,
    ids: randomIds,
    config: config.lifecycle,
    logger,
  };
  return {
    config,
    observability,
    core,
    taskEvents: { clusterArn: settings.clusterArn, ownerOf: (startedBy) => runtime.ownerOf(startedBy) },
    retirer: new VolumeRetirer({
      ecs,
      efs,
      store: volumeStore,
      sessions: store,
      settings,
      clock: systemClock,
      logger,
    }),
    app: { core, authenticate: apiGatewayAuth(config.auth), version: VERSION, answerBy: lambdaAnswerBy },
  };
}
