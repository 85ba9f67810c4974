import type { Template } from 'aws-cdk-lib/assertions';
import { expect } from 'vitest';

/** A resource body as it appears in a synthesized template. */
export type Resource = { Properties: Record<string, unknown> } & Record<string, unknown>;

/** Descriptions that identify the service stack's functions and security groups. */
export const API_FUNCTION = 'Sandbox control plane HTTP API';
export const TASK_EVENTS_FUNCTION = 'Applies ECS task state changes';
export const RECONCILER_FUNCTION = 'Reconciles sandbox sessions';
export const LOGS_FUNCTION = 'Reads sandbox logs for the HTTP API';
export const STORAGE_FUNCTION = 'Chat storage routes (inside the VPC, EFS mounted)';
export const SANDBOX_SG = 'Agent sandboxes: agent port from the clients security group only';
export const CLIENTS_SG = 'Attach to hosted agents that call their sandbox endpoint';
export const STORAGE_SG = 'Storage function: NFS to the chat file system and HTTPS to DynamoDB only';

/** sha256 hex of a bearer token (any 64 hex digits will do for a template). */
export const TOKEN_HASH = 'ab'.repeat(32);

/** Lookups by meaning (description, type) rather than by generated logical ID. */
export function templateQueries(template: Template) {
  const resources = (type: string): [string, Resource][] =>
    Object.entries(template.findResources(type)) as [string, Resource][];
  const logicalIdOf = (type: string, match: (r: Resource) => boolean): string => {
    const found = resources(type).filter(([, r]) => match(r));
    expect(found).toHaveLength(1);
    return found[0]![0];
  };
  return {
    resources,
    logicalIdOf,
    functionId: (description: string) =>
      logicalIdOf('AWS::Lambda::Function', (r) => r.Properties.Description === description),
    securityGroupId: (description: string) =>
      logicalIdOf('AWS::EC2::SecurityGroup', (r) => r.Properties.GroupDescription === description),
    clusterId: () => logicalIdOf('AWS::ECS::Cluster', () => true),
  };
}
