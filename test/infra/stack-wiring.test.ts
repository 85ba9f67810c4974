import { describe, expect, it } from 'vitest';
import { CDK_JSON_CONTEXT, synthApp } from './synth.js';

const { statefulTemplate, serviceTemplate } = synthApp({ webhookUrl: 'https://hooks.example.com/x' });
const service = JSON.stringify(serviceTemplate.toJSON());

describe('references from the service stack to the stateful stack', () => {
  it('are strong: CloudFormation exports that the stateful stack cannot drop or change while they are imported', () => {
    expect(CDK_JSON_CONTEXT['@aws-cdk/core:defaultCrossStackReferences']).toBe('strong');
    expect(service).not.toContain('Fn::GetStackOutput');
    expect(service).toContain('Fn::ImportValue');
    const exports = Object.values(
      statefulTemplate.toJSON().Outputs as Record<string, { Export?: unknown }>,
    ).filter((output) => output.Export);
    expect(exports.length).toBeGreaterThan(0);
  });
});

describe('outputs', () => {
  it('name every log group, whose names CDK generates', () => {
    const outputs = Object.keys(serviceTemplate.toJSON().Outputs as Record<string, unknown>);
    expect(
      outputs.filter((id) => id.endsWith('LogGroup') || id.startsWith('SandboxLogGroup')).sort(),
    ).toEqual([
      'ApiAccessLogGroup',
      'ApiFunctionLogGroup',
      'EventPublisherFunctionLogGroup',
      'LogsFunctionLogGroup',
      'ReconcilerFunctionLogGroup',
      'SandboxLogGroupdefault',
      'StorageFunctionLogGroup',
      'TaskEventsFunctionLogGroup',
      'WebhookFunctionLogGroup',
    ]);
    const groups = Object.keys(serviceTemplate.findResources('AWS::Logs::LogGroup'));
    const referenced = Object.values(
      serviceTemplate.toJSON().Outputs as Record<string, { Value: unknown }>,
    ).map((output) => JSON.stringify(output.Value));
    for (const group of groups) expect(referenced).toContain(JSON.stringify({ Ref: group }));
  });

  it('name the dashboard only when there is one', () => {
    expect(serviceTemplate.toJSON().Outputs).toHaveProperty('DashboardName');
    expect(synthApp({ dashboard: 'false' }).serviceTemplate.toJSON().Outputs).not.toHaveProperty(
      'DashboardName',
    );
  });
});
