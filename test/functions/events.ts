/**
 * Lambda event payloads as AWS sends them: EventBridge "ECS Task State Change" (the ECS developer
 * guide's Fargate example) and API Gateway HTTP API payload format 2.0 with the IAM authorizer.
 */
import type { Context } from 'aws-lambda';
import { CLUSTER_ARN } from '../ecs/fixtures.js';

export interface TaskChange {
  readonly taskArn: string;
  readonly startedBy: string;
  readonly lastStatus: string;
  readonly version: number;
  readonly desiredStatus?: string;
  readonly clusterArn?: string;
  readonly privateIp?: string;
  readonly stoppedReason?: string;
  /** The task's health (HEALTHY, UNHEALTHY, UNKNOWN), as ECS reports it for a task with a health check. */
  readonly healthStatus?: string;
}

export function taskStateChange(change: TaskChange): Record<string, unknown> {
  const stopped = change.lastStatus === 'STOPPED';
  return {
    version: '0',
    id: crypto.randomUUID(),
    'detail-type': 'ECS Task State Change',
    source: 'aws.ecs',
    account: '111122223333',
    time: '2026-11-22T00:01:58Z',
    region: 'us-west-2',
    resources: [change.taskArn],
    detail: {
      attachments: [
        {
          id: '1789bcae-ddfb-4d10-8ebe-8ac87ddba5b8',
          type: 'eni',
          status: stopped ? 'DELETED' : 'ATTACHED',
          details: [
            { name: 'subnetId', value: 'subnet-0a1b2c3d' },
            { name: 'networkInterfaceId', value: 'eni-abcd1234' },
            { name: 'macAddress', value: '0a:98:eb:a7:29:ba' },
            { name: 'privateIPv4Address', value: change.privateIp ?? '10.0.0.139' },
          ],
        },
      ],
      availabilityZone: 'us-west-2c',
      clusterArn: change.clusterArn ?? CLUSTER_ARN,
      containers: [
        {
          containerArn: 'arn:aws:ecs:us-west-2:111122223333:container/cf159fd6-3e3f-4a9e-84f9-66cbe726af01',
          lastStatus: change.lastStatus,
          name: 'sandbox',
          taskArn: change.taskArn,
          networkInterfaces: [
            {
              attachmentId: '1789bcae-ddfb-4d10-8ebe-8ac87ddba5b8',
              privateIpv4Address: change.privateIp ?? '10.0.0.139',
            },
          ],
          cpu: '0',
        },
      ],
      createdAt: '2026-11-22T00:01:34.402Z',
      launchType: 'FARGATE',
      cpu: '1024',
      memory: '2048',
      desiredStatus: change.desiredStatus ?? (stopped ? 'STOPPED' : 'RUNNING'),
      group: 'family:sbx-chat',
      lastStatus: change.lastStatus,
      overrides: { containerOverrides: [{ name: 'sandbox' }] },
      connectivity: 'CONNECTED',
      ...(change.healthStatus ? { healthStatus: change.healthStatus } : {}),
      startedBy: change.startedBy,
      updatedAt: '2026-11-22T00:01:58.103Z',
      taskArn: change.taskArn,
      taskDefinitionArn: 'arn:aws:ecs:us-west-2:111122223333:task-definition/sbx-chat:1',
      version: change.version,
      platformVersion: '1.4.0',
      ...(stopped
        ? {
            stopCode: 'EssentialContainerExited',
            stoppedReason: change.stoppedReason ?? 'Essential container in task exited',
            stoppedAt: '2026-11-22T00:05:58.103Z',
          }
        : {}),
    },
  };
}

export interface HttpRequest {
  readonly method: string;
  readonly path: string;
  readonly body?: unknown;
  /** A raw body instead of JSON: API Gateway hands it over base64-encoded. */
  readonly rawBody?: Buffer;
  readonly query?: string;
  readonly headers?: Record<string, string>;
  /** The signing principal; null for a request without the IAM authorizer. */
  readonly userArn?: string | null;
}

/** API Gateway HTTP API payload 2.0 for a SigV4-signed request through the IAM authorizer. */
export function httpApiEvent(request: HttpRequest): Record<string, unknown> {
  const body = request.body === undefined ? undefined : JSON.stringify(request.body);
  const raw = request.rawBody;
  const userArn =
    request.userArn === undefined ? 'arn:aws:iam::111122223333:user/agent-alpha' : request.userArn;
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: request.path,
    rawQueryString: request.query ?? '',
    headers: {
      accept: 'application/json',
      'content-length': String(raw?.length ?? body?.length ?? 0),
      host: 'abcdef1234.execute-api.us-west-2.amazonaws.com',
      'user-agent': 'agent-runtime/1.0',
      'x-amz-date': '20261122T000000Z',
      'x-forwarded-for': '10.1.2.3',
      'x-forwarded-port': '443',
      'x-forwarded-proto': 'https',
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...request.headers,
    },
    ...(request.query
      ? { queryStringParameters: Object.fromEntries(new URLSearchParams(request.query)) }
      : {}),
    requestContext: {
      accountId: '111122223333',
      apiId: 'abcdef1234',
      ...(userArn === null
        ? {}
        : {
            authorizer: {
              iam: {
                accessKey: 'ASIAEXAMPLEKEY000000',
                accountId: '111122223333',
                callerId: 'AIDAEXAMPLECALLER0000',
                cognitoIdentity: null,
                principalOrgId: null,
                userArn,
                userId: 'AIDAEXAMPLECALLER0000',
              },
            },
          }),
      domainName: 'abcdef1234.execute-api.us-west-2.amazonaws.com',
      domainPrefix: 'abcdef1234',
      http: {
        method: request.method,
        path: request.path,
        protocol: 'HTTP/1.1',
        sourceIp: '10.1.2.3',
        userAgent: 'agent-runtime/1.0',
      },
      requestId: `req-${crypto.randomUUID()}`,
      routeKey: '$default',
      stage: '$default',
      time: '22/Nov/2026:00:00:00 +0000',
      timeEpoch: Date.parse('2026-11-22T00:00:00Z'),
    },
    ...(raw ? { body: raw.toString('base64') } : body === undefined ? {} : { body }),
    isBase64Encoded: raw !== undefined,
  };
}

/** A Lambda context with `remainingMs` left. */
export function lambdaContext(functionName: string, remainingMs = 55_000): Context {
  const deadline = Date.now() + remainingMs;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-west-2:111122223333:function:${functionName}`,
    memoryLimitInMB: '512',
    awsRequestId: crypto.randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: '2026/11/22/[$LATEST]0123456789abcdef',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
