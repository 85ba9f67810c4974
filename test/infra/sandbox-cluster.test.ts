import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { DEFAULT_MOUNT_PATHS } from '../../src/adapters/ecs/settings.js';
import { VOLUME_NAMES } from '../../src/adapters/ecs/task-definition.js';
import { ENV } from '../../src/names.js';
import { synthApp } from './synth.js';
import { CLIENTS_SG, type Resource, SANDBOX_SG, STORAGE_SG, templateQueries } from './template-queries.js';

const { serviceTemplate: template } = synthApp({
  sandboxImage: '123456789012.dkr.ecr.us-east-1.amazonaws.com/sandbox:1.2.3',
});
const { resources, securityGroupId } = templateQueries(template);

describe('sandbox cluster', () => {
  it('has Container Insights off unless asked, since its metrics grow with the per-chat families', () => {
    template.hasResourceProperties('AWS::ECS::Cluster', {
      ClusterSettings: [{ Name: 'containerInsights', Value: 'disabled' }],
    });
    synthApp({ containerInsights: 'true' }).serviceTemplate.hasResourceProperties('AWS::ECS::Cluster', {
      ClusterSettings: [{ Name: 'containerInsights', Value: 'enabled' }],
    });
  });

  it('has a base task definition for the profile: image, cpu, memory, port, arm64 Fargate', () => {
    template.hasResourceProperties('AWS::ECS::TaskDefinition', {
      Cpu: '1024',
      Memory: '2048',
      NetworkMode: 'awsvpc',
      RequiresCompatibilities: ['FARGATE'],
      RuntimePlatform: { CpuArchitecture: 'ARM64', OperatingSystemFamily: 'LINUX' },
      ContainerDefinitions: [
        Match.objectLike({
          Name: 'sandbox',
          Essential: true,
          Image: {
            'Fn::Join': [
              '',
              ['123456789012.dkr.ecr.us-east-1.', { Ref: 'AWS::URLSuffix' }, '/sandbox:1.2.3'],
            ],
          },
          PortMappings: [{ ContainerPort: 8080, Protocol: 'tcp' }],
        }),
      ],
    });
  });

  it('gives the sandbox no task role, so code inside it gets no AWS credentials', () => {
    const [[, taskDefinition]] = resources('AWS::ECS::TaskDefinition') as [[string, Resource]];
    expect(taskDefinition.Properties.TaskRoleArn).toBeUndefined();
    const taskRoles = resources('AWS::IAM::Role').filter(([id]) => id.includes('TaskRole'));
    expect(taskRoles).toEqual([]);
  });

  it('creates a task role only for a profile that asks for one', () => {
    const profiles = JSON.stringify([
      {
        name: 'aws',
        image: 'example/agent:1',
        cpu: 512,
        memoryMiB: 1024,
        port: 9000,
        taskRoleManagedPolicyArns: ['arn:aws:iam::aws:policy/ReadOnlyAccess'],
      },
    ]);
    const { serviceTemplate } = synthApp({ profiles });
    serviceTemplate.hasResourceProperties('AWS::ECS::TaskDefinition', { TaskRoleArn: Match.anyValue() });
    serviceTemplate.hasResourceProperties('AWS::IAM::Role', {
      ManagedPolicyArns: ['arn:aws:iam::aws:policy/ReadOnlyAccess'],
      AssumeRolePolicyDocument: Match.objectLike({
        Statement: [Match.objectLike({ Principal: { Service: 'ecs-tasks.amazonaws.com' } })],
      }),
    });
  });

  it('gives the container no health check unless the profile declares one, and names no checked profile', () => {
    const [[, taskDefinition]] = resources('AWS::ECS::TaskDefinition') as [[string, Resource]];
    const [container] = taskDefinition.Properties.ContainerDefinitions as Record<string, unknown>[];
    expect(container!.HealthCheck).toBeUndefined();
    for (const [, fn] of resources('AWS::Lambda::Function')) {
      const variables = (fn.Properties.Environment as { Variables?: Record<string, unknown> } | undefined)
        ?.Variables;
      expect(variables?.[ENV.healthCheckedProfiles]).toBeUndefined();
    }
  });

  it('turns a profile health check into the container health check, and tells every function', () => {
    const profiles = JSON.stringify([
      {
        name: 'web',
        image: 'example/agent:1',
        cpu: 512,
        memoryMiB: 1024,
        port: 9000,
        healthCheck: { path: '/health', startPeriodSeconds: 20 },
      },
      {
        name: 'cli',
        image: 'example/tool:1',
        cpu: 256,
        memoryMiB: 512,
        port: 9001,
        healthCheck: { command: ['/bin/ready'], intervalSeconds: 5, retries: 5 },
      },
      { name: 'plain', image: 'example/plain:1', cpu: 256, memoryMiB: 512, port: 9002 },
    ]);
    const { serviceTemplate } = synthApp({ profiles });
    serviceTemplate.hasResourceProperties('AWS::ECS::TaskDefinition', {
      ContainerDefinitions: [
        Match.objectLike({
          HealthCheck: {
            Command: ['CMD-SHELL', "curl -fsS -o /dev/null 'http://127.0.0.1:9000/health' || exit 1"],
            Interval: 10,
            Timeout: 5,
            Retries: 3,
            StartPeriod: 20,
          },
        }),
      ],
    });
    serviceTemplate.hasResourceProperties('AWS::ECS::TaskDefinition', {
      ContainerDefinitions: [
        Match.objectLike({
          HealthCheck: { Command: ['CMD', '/bin/ready'], Interval: 5, Timeout: 5, Retries: 5 },
        }),
      ],
    });
    for (const [, fn] of templateQueries(serviceTemplate).resources('AWS::Lambda::Function')) {
      const variables = (fn.Properties.Environment as { Variables?: Record<string, unknown> } | undefined)
        ?.Variables;
      if (variables?.[ENV.tableName]) expect(variables[ENV.healthCheckedProfiles]).toBe('web,cli');
    }
    expect(() =>
      synthApp({
        profiles: JSON.stringify([
          { name: 'x', image: 'i', cpu: 256, memoryMiB: 512, port: 1, healthCheck: { path: 'health' } },
        ]),
      }),
    ).toThrow(/healthCheck/);
  });

  it('logs the sandbox to CloudWatch with bounded retention', () => {
    template.hasResourceProperties('AWS::ECS::TaskDefinition', {
      ContainerDefinitions: [
        Match.objectLike({
          LogConfiguration: {
            LogDriver: 'awslogs',
            Options: Match.objectLike({
              'awslogs-group': { Ref: Match.stringLikeRegexp('ProfiledefaultLogs') },
            }),
          },
        }),
      ],
    });
    template.allResourcesProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
  });

  it('mounts shared dependencies and tools read-only, over TLS, through their access points', () => {
    const volume = (name: string, accessPointExport: RegExp) => ({
      Name: name,
      EFSVolumeConfiguration: {
        FilesystemId: { 'Fn::ImportValue': Match.stringLikeRegexp('ChatFileSystem') },
        TransitEncryption: 'ENABLED',
        AuthorizationConfig: {
          AccessPointId: { 'Fn::ImportValue': Match.stringLikeRegexp(accessPointExport.source) },
          IAM: 'DISABLED',
        },
      },
    });
    // Same volume names and paths as the ECS adapter, which then keeps these mounts in every chat's definition.
    template.hasResourceProperties('AWS::ECS::TaskDefinition', {
      Volumes: [
        volume(VOLUME_NAMES.dependencies, /DependenciesAccessPoint/),
        volume(VOLUME_NAMES.tools, /ToolsAccessPoint/),
      ],
      ContainerDefinitions: [
        Match.objectLike({
          MountPoints: [
            {
              SourceVolume: VOLUME_NAMES.dependencies,
              ContainerPath: DEFAULT_MOUNT_PATHS.dependencies,
              ReadOnly: true,
            },
            { SourceVolume: VOLUME_NAMES.tools, ContainerPath: DEFAULT_MOUNT_PATHS.tools, ReadOnly: true },
          ],
        }),
      ],
    });
  });
});

describe('security groups', () => {
  it('lets only the clients group reach the agent port of the sandboxes', () => {
    const ingress = resources('AWS::EC2::SecurityGroupIngress').filter(
      ([, r]) =>
        JSON.stringify(r.Properties.GroupId) ===
        JSON.stringify({ 'Fn::GetAtt': [securityGroupId(SANDBOX_SG), 'GroupId'] }),
    );
    expect(ingress.map(([, r]) => r.Properties)).toEqual([
      expect.objectContaining({
        IpProtocol: 'tcp',
        FromPort: 8080,
        ToPort: 8080,
        SourceSecurityGroupId: { 'Fn::GetAtt': [securityGroupId(CLIENTS_SG), 'GroupId'] },
      }),
    ]);
    template.hasResourceProperties('AWS::EC2::SecurityGroup', {
      GroupDescription: SANDBOX_SG,
      SecurityGroupIngress: Match.absent(),
    });
  });

  it('lets clients send only to the agent port of the sandboxes', () => {
    template.hasResourceProperties('AWS::EC2::SecurityGroupEgress', {
      GroupId: { 'Fn::GetAtt': [securityGroupId(CLIENTS_SG), 'GroupId'] },
      DestinationSecurityGroupId: { 'Fn::GetAtt': [securityGroupId(SANDBOX_SG), 'GroupId'] },
      IpProtocol: 'tcp',
      FromPort: 8080,
      ToPort: 8080,
    });
  });

  it('opens NFS on the file system mount targets to the sandbox and storage function groups only', () => {
    const nfs = resources('AWS::EC2::SecurityGroupIngress').filter(([, r]) => r.Properties.FromPort === 2049);
    const from = (group: string, description: string) => ({
      Description: description,
      IpProtocol: 'tcp',
      FromPort: 2049,
      ToPort: 2049,
      GroupId: { 'Fn::ImportValue': expect.stringMatching(/MountTargetSecurityGroup/) },
      SourceSecurityGroupId: { 'Fn::GetAtt': [securityGroupId(group), 'GroupId'] },
    });
    expect(nfs.map(([, r]) => r.Properties)).toHaveLength(2);
    expect(nfs.map(([, r]) => r.Properties)).toEqual(
      expect.arrayContaining([
        from(SANDBOX_SG, 'NFS from sandboxes to the chat file system'),
        from(STORAGE_SG, 'NFS from the storage function to the chat file system'),
      ]),
    );
  });

  it('exports the clients group for the agents’ stacks', () => {
    template.hasOutput('ClientsSecurityGroupId', {
      Value: { 'Fn::GetAtt': [securityGroupId(CLIENTS_SG), 'GroupId'] },
      Export: { Name: 'Test-Service-ClientsSecurityGroupId' },
    });
  });

  it('limits sandbox egress to HTTPS and NFS to the file system by default', () => {
    template.hasResourceProperties('AWS::EC2::SecurityGroup', {
      GroupDescription: SANDBOX_SG,
      SecurityGroupEgress: [
        { CidrIp: '0.0.0.0/0', IpProtocol: 'tcp', FromPort: 443, ToPort: 443, Description: Match.anyValue() },
      ],
    });
    const egress = resources('AWS::EC2::SecurityGroupEgress').filter(
      ([, r]) =>
        JSON.stringify(r.Properties.GroupId) ===
        JSON.stringify({ 'Fn::GetAtt': [securityGroupId(SANDBOX_SG), 'GroupId'] }),
    );
    expect(egress.map(([, r]) => r.Properties)).toEqual([
      expect.objectContaining({
        IpProtocol: 'tcp',
        FromPort: 2049,
        ToPort: 2049,
        DestinationSecurityGroupId: { 'Fn::ImportValue': expect.stringMatching(/MountTargetSecurityGroup/) },
      }),
    ]);
  });

  it('opens sandbox egress to everything only when asked', () => {
    const { serviceTemplate } = synthApp({ sandboxEgress: 'all' });
    serviceTemplate.hasResourceProperties('AWS::EC2::SecurityGroup', {
      GroupDescription: SANDBOX_SG,
      SecurityGroupEgress: [{ CidrIp: '0.0.0.0/0', IpProtocol: '-1', Description: Match.anyValue() }],
    });
  });
});
