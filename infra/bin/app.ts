#!/usr/bin/env node
/**
 * CDK app entry: the only place that reads context and environment. Everything below receives props.
 * Parameters: `npx cdk deploy --all -c sandboxImage=<uri> [-c vpcId=... -c subnetIds=a,b] [-c authMode=token ...]`
 * (see docs/deploy.md).
 */
import { fileURLToPath } from 'node:url';
import { Annotations, App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ServiceStack } from '../stacks/service-stack.js';
import { StatefulStack } from '../stacks/stateful-stack.js';
import { readAppConfig } from './app-config.js';

const app = new App();
const config = readAppConfig((key) => app.node.tryGetContext(key));
const projectRoot = fileURLToPath(new URL('../..', import.meta.url));
// Unset account/region keeps the stacks environment-agnostic, so synth needs no credentials.
const env = { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION };

const stateful = new StatefulStack(app, `${config.stackPrefix}-Stateful`, {
  env,
  description: 'Agent sandbox control plane: session table, chat file system, network',
  existingVpc: config.existingVpc,
  automaticBackups: config.automaticBackups,
});

const service = new ServiceStack(app, `${config.stackPrefix}-Service`, {
  env,
  description: 'Agent sandbox control plane: API, functions, sandbox cluster, alarms',
  network: stateful.network,
  table: stateful.sessions.table,
  storage: stateful.storage,
  profiles: config.profiles,
  authMode: config.authMode,
  apiTokenHashes: config.apiTokenHashes,
  projectRoot,
  logRetention: config.logRetention,
  sandboxEgress: config.sandboxEgress,
  alarmTopicArn: config.alarmTopicArn,
});

if (config.placeholderImage) {
  Annotations.of(service).addWarningV2(
    'sandbox:placeholder-image',
    'No sandboxImage given: the default profile uses a placeholder image. Pass -c sandboxImage=<uri>.',
  );
}

Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
