import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { DEFAULT_MOUNT_PATHS } from '../../src/adapters/ecs/settings.js';
import { ENV, STORAGE_ROUTE_KEYS } from '../../src/names.js';
import { synthApp } from './synth.js';
import {
  API_FUNCTION,
  LOGS_FUNCTION,
  RECONCILER_FUNCTION,
  SANDBOX_SG,
  TASK_EVENTS_FUNCTION,
  TOKEN_HASH,
  templateQueries,
} from './template-queries.js';

const { serviceTemplate: template } = synthApp({
  sandboxImage: '123456789012.dkr.ecr.us-east-1.amazonaws.com/sandbox:1.2.3',
});
const { functionId, securityGroupId, clusterId } = templateQueries(template);

describe('HTTP API', () => {
  it('sends every route to the api function and requires IAM (SigV4) authorization by default', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
      RouteKey: 'ANY /{proxy+}',
      AuthorizationType: 'AWS_IAM',
    });
    // `/{proxy+}`, two health checks, GET and HEAD of the logs route and the document, and the
    // storage routes, whose GET routes have a HEAD route each.
    const storageRoutes = STORAGE_ROUTE_KEYS.reduce((n, key) => n + (key.method === 'get' ? 2 : 1), 0);
    template.resourceCountIs('AWS::ApiGatewayV2::Route', 7 + storageRoutes);
    template.resourceCountIs('AWS::ApiGatewayV2::Integration', 3);
    template.hasResourceProperties('AWS::ApiGatewayV2::Integration', {
      IntegrationType: 'AWS_PROXY',
      IntegrationUri: { 'Fn::GetAtt': [functionId(API_FUNCTION), 'Arn'] },
    });
  });

  it('sends the sandbox logs route and the document to the logs function, IAM-authorized like the rest', () => {
    const integrations = Object.entries(template.findResources('AWS::ApiGatewayV2::Integration'));
    const [logsIntegration] =
      integrations.find(
        ([, integration]) =>
          JSON.stringify(integration.Properties.IntegrationUri) ===
          JSON.stringify({ 'Fn::GetAtt': [functionId(LOGS_FUNCTION), 'Arn'] }),
      ) ?? [];
    expect(logsIntegration).toBeDefined();
    for (const route of ['/v1/chats/{chatId}/sandbox/logs', '/v1/openapi.json'].flatMap((path) =>
      ['GET', 'HEAD'].map((method) => `${method} ${path}`),
    )) {
      const path = route.split(' ')[1]!;
      template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
        RouteKey: route,
        AuthorizationType: 'AWS_IAM',
        Target: { 'Fn::Join': ['', ['integrations/', { Ref: logsIntegration }]] },
      });
      // API Gateway may invoke the logs function for those routes only.
      template.hasResourceProperties('AWS::Lambda::Permission', {
        FunctionName: { 'Fn::GetAtt': [functionId(LOGS_FUNCTION), 'Arn'] },
        SourceArn: Match.objectLike({ 'Fn::Join': ['', Match.arrayWith([`/*/*${path}`])] }),
      });
    }
    expect(
      Object.values(template.findResources('AWS::Lambda::Permission')).filter(
        (permission) =>
          JSON.stringify(permission.Properties.FunctionName) ===
          JSON.stringify({ 'Fn::GetAtt': [functionId(LOGS_FUNCTION), 'Arn'] }),
      ),
    ).toHaveLength(4);
  });

  it('leaves only the health checks unauthenticated, as the API contract says', () => {
    const open = template.findResources('AWS::ApiGatewayV2::Route', {
      Properties: { AuthorizationType: 'NONE' },
    });
    expect(
      Object.values(open)
        .map((route) => route.Properties.RouteKey)
        .sort(),
    ).toEqual(['GET /api/v1/health', 'GET /v1/health']);
  });

  it('lets requests through to the function in token mode, where the function checks the token', () => {
    const { serviceTemplate } = synthApp({
      authMode: 'token',
      apiTokenHashes: JSON.stringify({ [TOKEN_HASH]: 'tenant-a' }),
    });
    serviceTemplate.hasResourceProperties('AWS::ApiGatewayV2::Route', { AuthorizationType: 'NONE' });
    serviceTemplate.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          [ENV.authMode]: 'token',
          [ENV.apiTokens]: `{"${TOKEN_HASH}":"tenant-a"}`,
        }),
      },
    });
  });

  it('writes JSON access logs with the caller identity, and throttles', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      AccessLogSettings: {
        DestinationArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('ApiAccessLogs'), 'Arn'] },
        Format: Match.serializedJson(
          Match.objectLike({
            requestId: '$context.requestId',
            status: '$context.status',
            userArn: '$context.identity.userArn',
          }),
        ),
      },
      DefaultRouteSettings: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 },
    });
  });

  it('provides a managed policy that allows invoking this API only', () => {
    template.hasResourceProperties('AWS::IAM::ManagedPolicy', {
      PolicyDocument: {
        Statement: [
          {
            Effect: 'Allow',
            Action: 'execute-api:Invoke',
            Resource: {
              'Fn::Join': [
                '',
                Match.arrayWith([{ Ref: Match.stringLikeRegexp('ApiHttpApi') }, '/$default/*/*']),
              ],
            },
          },
        ],
      },
    });
    template.hasOutput('ApiUrl', Match.anyValue());
  });
});

describe('functions', () => {
  it.each([API_FUNCTION, TASK_EVENTS_FUNCTION, RECONCILER_FUNCTION])(
    '%s runs Node.js 22 on arm64 with active tracing, its own log group and source maps',
    (description) => {
      template.hasResourceProperties('AWS::Lambda::Function', {
        Description: description,
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        TracingConfig: { Mode: 'Active' },
        LoggingConfig: { LogGroup: { Ref: Match.stringLikeRegexp('FunctionLogs') } },
        Environment: { Variables: Match.objectLike({ NODE_OPTIONS: '--enable-source-maps' }) },
      });
    },
  );

  it('gives every function the table and runtime settings under the names the code reads', () => {
    for (const description of [API_FUNCTION, TASK_EVENTS_FUNCTION, RECONCILER_FUNCTION]) {
      template.hasResourceProperties('AWS::Lambda::Function', {
        Description: description,
        Environment: {
          Variables: Match.objectLike({
            [ENV.tableName]: { 'Fn::ImportValue': Match.stringLikeRegexp('SessionTable') },
            [ENV.clusterArn]: { 'Fn::GetAtt': [clusterId(), 'Arn'] },
            [ENV.subnetIds]: { 'Fn::Join': [',', [Match.anyValue(), Match.anyValue()]] },
            [ENV.securityGroupIds]: { 'Fn::GetAtt': [securityGroupId(SANDBOX_SG), 'GroupId'] },
            [ENV.assignPublicIp]: 'ENABLED',
            [ENV.fileSystemId]: { 'Fn::ImportValue': Match.stringLikeRegexp('ChatFileSystem') },
            [ENV.dependenciesAccessPointId]: {
              'Fn::ImportValue': Match.stringLikeRegexp('DependenciesAccessPoint'),
            },
            [ENV.toolsAccessPointId]: { 'Fn::ImportValue': Match.stringLikeRegexp('ToolsAccessPoint') },
            [ENV.taskFamilyPrefix]: 'Test-Service-chat',
            [ENV.dependenciesMountPath]: DEFAULT_MOUNT_PATHS.dependencies,
            [ENV.toolsMountPath]: DEFAULT_MOUNT_PATHS.tools,
            [ENV.chatUid]: '1000',
            [ENV.chatGid]: '1000',
            POWERTOOLS_METRICS_NAMESPACE: 'AgentSandbox',
          }),
        },
      });
    }
  });

  it('describes each profile in SANDBOX_PROFILES with its base task definition, container, port and size', () => {
    const taskDefinition = Object.keys(template.findResources('AWS::ECS::TaskDefinition'))[0]!;
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: API_FUNCTION,
      Environment: {
        Variables: Match.objectLike({
          [ENV.profiles]: {
            'Fn::Join': [
              '',
              [
                '{"default":{"taskDefinitionArn":"',
                { Ref: taskDefinition },
                '","containerName":"sandbox","port":8080,"vcpu":1,"memoryGiB":2}}',
              ],
            ],
          },
          [ENV.authMode]: 'iam',
        }),
      },
    });
  });

  it('tells the logs function where each profile logs, with the table and auth settings, and no runtime', () => {
    const group = Object.keys(template.findResources('AWS::Logs::LogGroup')).find((id) =>
      id.includes('ProfiledefaultLogs'),
    );
    expect(group).toBeDefined();
    const [, logsFunction] = templateQueries(template)
      .resources('AWS::Lambda::Function')
      .find(([, fn]) => fn.Properties.Description === LOGS_FUNCTION)!;
    const variables = (logsFunction.Properties.Environment as { Variables: Record<string, unknown> })
      .Variables;
    expect(variables).toEqual({
      NODE_OPTIONS: '--enable-source-maps',
      [ENV.tableName]: { 'Fn::ImportValue': expect.stringMatching(/SessionTable/) },
      [ENV.logStreams]: {
        'Fn::Join': [
          '',
          [
            '{"default":{"logGroupName":"',
            { Ref: group },
            '","streamPrefix":"default","containerName":"sandbox"}}',
          ],
        ],
      },
      POWERTOOLS_METRICS_NAMESPACE: 'AgentSandbox',
      [ENV.authMode]: 'iam',
      // The profiles, for the document it serves (names, allow-lists); no cluster, subnets or roles.
      [ENV.profiles]: expect.anything(),
    });
    // The logs function never launches: it is not given the runtime's settings.
    expect(logsFunction.Properties.Timeout).toBe(15);
  });

  it('answers API calls within API Gateway’s 30 s limit and ends a reconcile run within its minute', () => {
    template.hasResourceProperties('AWS::Lambda::Function', { Description: API_FUNCTION, Timeout: 29 });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: RECONCILER_FUNCTION,
      Timeout: 55,
    });
  });

  it('passes live-sandbox limits from context to every function, and none when unset', () => {
    const { serviceTemplate } = synthApp({ tenantMaxLive: '200', ownerMaxLive: '5' });
    for (const description of [API_FUNCTION, RECONCILER_FUNCTION]) {
      serviceTemplate.hasResourceProperties('AWS::Lambda::Function', {
        Description: description,
        Environment: {
          Variables: Match.objectLike({ [ENV.tenantMaxLive]: '200', [ENV.ownerMaxLive]: '5' }),
        },
      });
    }
    for (const fn of Object.values(template.findResources('AWS::Lambda::Function'))) {
      expect(fn.Properties.Environment?.Variables?.[ENV.tenantMaxLive]).toBeUndefined();
    }
  });

  it('uses the subnets and public-IP setting of an imported VPC', () => {
    const { serviceTemplate } = synthApp({
      vpcId: 'vpc-0abc1234def567890',
      subnetIds: 'subnet-0aaa1111bbbb22223,subnet-0bbb3333cccc44445',
      assignPublicIp: 'false',
    });
    serviceTemplate.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          [ENV.subnetIds]: 'subnet-0aaa1111bbbb22223,subnet-0bbb3333cccc44445',
          [ENV.assignPublicIp]: 'DISABLED',
        }),
      },
    });
  });
});
