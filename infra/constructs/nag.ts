import { Stack, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/** A wildcard in a policy resource that is there on purpose, and why. */
export interface WildcardResource {
  readonly resource: string;
  readonly reason: string;
}

/**
 * Writes a resolved CloudFormation value the way cdk-nag names IAM5 findings (`Ref` -> `<Id>`,
 * `Fn::GetAtt` -> `<Id.Attr>`, `Fn::Join` -> joined parts), so an acknowledgment can name the exact finding.
 */
function flatten(value: unknown): string {
  if (value === undefined) return '';
  if (typeof value === 'string') return value.replace(/\$\{/g, '<').replace(/\}/g, '>');
  if (typeof value === 'object' && value !== null) {
    const node = value as Record<string, unknown>;
    const join = node['Fn::Join'] as [string, unknown[]] | undefined;
    if (join) return join[1].map(flatten).join(join[0]);
    const getAtt = node['Fn::GetAtt'] as [unknown, unknown] | undefined;
    if (getAtt) return `<${flatten(getAtt[0])}.${flatten(getAtt[1])}>`;
    if ('Ref' in node) return `<${flatten(node.Ref)}>`;
    if ('Fn::Sub' in node) return flatten(node['Fn::Sub']);
    if ('Fn::ImportValue' in node) return flatten(node['Fn::ImportValue']);
  }
  return JSON.stringify(value);
}

/**
 * Acknowledges cdk-nag's AwsSolutions-IAM5 finding for each intended wildcard resource on `scope` (a
 * role or policy), with its reason. Only resources in the same stack as `scope` can be named this way.
 */
export function acknowledgeWildcardResources(
  scope: IConstruct,
  wildcards: readonly WildcardResource[],
): void {
  const stack = Stack.of(scope);
  for (const { resource, reason } of wildcards) {
    Validations.of(scope).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${flatten(stack.resolve(resource))}]`,
      reason,
    });
  }
}
