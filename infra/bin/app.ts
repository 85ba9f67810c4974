#!/usr/bin/env node
/**
 * CDK app entry: the only place that reads context and environment. Everything below receives props.
 * Parameters: `npx cdk deploy --all -c sandboxImage=<uri> [-c vpcId=... -c subnetIds=a,b] [-c authMode=token ...]`
 * (see docs/deploy.md).
 */
import { fileURLToPath } from 'node:url';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { readAppConfig } from './app-config.js';
import { addControlPlaneStacks } from './control-plane-stacks.js';

const app = new App();
const config = readAppConfig((key) => app.node.tryGetContext(key));
addControlPlaneStacks(app, config, {
  projectRoot: fileURLToPath(new URL('../..', import.meta.url)),
  // Unset account/region keeps the stacks environment-agnostic, so synth needs no credentials.
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
});

Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
