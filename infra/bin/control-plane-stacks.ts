import { Annotations, type App, type Environment } from 'aws-cdk-lib';
import { ServiceStack } from '../stacks/service-stack.js';
import { StatefulStack } from '../stacks/stateful-stack.js';
import type { AppConfig } from './app-config.js';

export interface ControlPlaneStacks {
  readonly stateful: StatefulStack;
  readonly service: ServiceStack;
}

/**
 * The app's two stacks, wired from its configuration: the one place where both `cdk synth` and the
 * infrastructure tests build them, so the tests check the wiring that deploys.
 */
export function addControlPlaneStacks(
  app: App,
  config: AppConfig,
  options: { readonly projectRoot: string; readonly env: Environment },
): ControlPlaneStacks {
  const stateful = new StatefulStack(app, `${config.stackPrefix}-Stateful`, {
    env: options.env,
    description: 'Agent sandbox control plane: session table, chat file system, network',
    existingVpc: config.existingVpc,
    automaticBackups: config.automaticBackups,
    eventArchiveRetention: config.eventArchiveRetention,
  });

  const service = new ServiceStack(app, `${config.stackPrefix}-Service`, {
    env: options.env,
    description: 'Agent sandbox control plane: API, functions, sandbox cluster, alarms',
    network: stateful.network,
    table: stateful.sessions.table,
    storage: stateful.storage,
    profiles: config.profiles,
    authMode: config.authMode,
    apiTokenHashes: config.apiTokenHashes,
    projectRoot: options.projectRoot,
    logRetention: config.logRetention,
    sandboxLogRetention: config.sandboxLogRetention,
    sandboxEgress: config.sandboxEgress,
    monitoring: {
      alarms: config.alarms,
      dashboard: config.dashboard,
      containerInsights: config.containerInsights,
    },
    alarmTopicArn: config.alarmTopicArn,
    lifecycle: {
      ...config.limits,
      expiringLeadSeconds: config.expiringLeadSeconds,
      defaultAgentId: config.defaultAgentId,
    },
    eventBus: stateful.events.bus,
    webhookUrl: config.webhookUrl,
    ownerStorageBytes: config.ownerStorageBytes,
  });

  if (config.exampleAgent) {
    Annotations.of(service).addInfo(
      'No sandboxImage given: the default profile runs the example agent (examples/agent/) on the public Node.js image.',
    );
  }
  return { stateful, service };
}
