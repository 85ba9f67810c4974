import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { readAppConfig } from '../../infra/bin/app-config.js';
import { addControlPlaneStacks } from '../../infra/bin/control-plane-stacks.js';
import type { ServiceStack } from '../../infra/stacks/service-stack.js';
import type { StatefulStack } from '../../infra/stacks/stateful-stack.js';

export const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The `context` of cdk.json (feature flags included), which `cdk synth` hands the app. */
export const CDK_JSON_CONTEXT: Record<string, unknown> = JSON.parse(
  readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8'),
).context;

export interface SynthResult {
  readonly app: App;
  readonly stateful: StatefulStack;
  readonly service: ServiceStack;
  readonly statefulTemplate: Template;
  readonly serviceTemplate: Template;
}

/**
 * Builds the whole app offline with the same wiring and the same cdk.json context (feature flags) as
 * `cdk synth` of `infra/bin/app.ts`, plus a context map. Bundling is skipped (`aws:cdk:bundling-stacks: []`,
 * the CDK's own switch), so no esbuild run happens and tests stay fast.
 */
export function synthApp(context: Record<string, unknown> = {}): SynthResult {
  const app = new App({
    context: { ...CDK_JSON_CONTEXT, 'aws:cdk:bundling-stacks': [], stackPrefix: 'Test', ...context },
  });
  const config = readAppConfig((key) => app.node.tryGetContext(key));
  const { stateful, service } = addControlPlaneStacks(app, config, {
    projectRoot: PROJECT_ROOT,
    env: { account: '123456789012', region: 'us-east-1' },
  });
  // Templates are built on first use, so a caller can still add validation plugins before synthesis.
  let templates: { stateful: Template; service: Template } | undefined;
  const synthesized = () => {
    templates ??= { stateful: Template.fromStack(stateful), service: Template.fromStack(service) };
    return templates;
  };
  return {
    app,
    stateful,
    service,
    get statefulTemplate() {
      return synthesized().stateful;
    },
    get serviceTemplate() {
      return synthesized().service;
    },
  };
}
