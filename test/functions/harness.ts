/**
 * Runs the Lambda modules as Lambda does: the environment is set before the module is imported (it
 * builds its dependencies at module scope), against DynamoDB Local and aws-sdk-client-mock's ECS and
 * EFS (which mock every client instance, the modules' own included).
 */
import { inject, vi } from 'vitest';
import { LOCAL_REGION, TEST_CREDENTIALS } from '../../src/adapters/dynamodb/client.js';
import { ENV } from '../../src/names.js';
import { BASE_TASK_DEFINITION_ARN, SETTINGS } from '../ecs/fixtures.js';

export { acceptRunTask, acceptVolumeCreation } from '../ecs/fixtures.js';

/** The storage function's name in the reconciler's environment. */
export const STORAGE_FUNCTION_NAME = 'Test-Service-StorageFunction-0123';

/** The environment the CDK stack gives the functions, pointed at a test table on DynamoDB Local. */
export function functionEnv(
  tableName: string,
  overrides: Record<string, string> = {},
): Record<string, string> {
  return {
    [ENV.tableName]: tableName,
    [ENV.clusterArn]: SETTINGS.clusterArn,
    [ENV.subnetIds]: SETTINGS.subnetIds.join(','),
    [ENV.securityGroupIds]: SETTINGS.securityGroupIds.join(','),
    [ENV.assignPublicIp]: 'DISABLED',
    [ENV.fileSystemId]: SETTINGS.fileSystemId,
    [ENV.dependenciesAccessPointId]: SETTINGS.dependenciesAccessPointId,
    [ENV.toolsAccessPointId]: SETTINGS.toolsAccessPointId,
    [ENV.taskFamilyPrefix]: SETTINGS.taskFamilyPrefix,
    [ENV.profiles]: JSON.stringify({
      default: { taskDefinitionArn: BASE_TASK_DEFINITION_ARN, containerName: 'sandbox', port: 8000 },
    }),
    [ENV.authMode]: 'iam',
    [ENV.storageFunctionName]: STORAGE_FUNCTION_NAME,
    [ENV.dynamodbEndpoint]: inject('dynamoEndpoint'),
    AWS_REGION: LOCAL_REGION,
    AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
    POWERTOOLS_DEV: 'true',
    POWERTOOLS_TRACE_ENABLED: 'false',
    POWERTOOLS_METRICS_DISABLED: 'true',
    POWERTOOLS_LOG_LEVEL: 'ERROR',
    ...overrides,
  };
}

/** Sets `env` and forgets previously imported modules, so the next `import()` is a cold start. */
export function coldStart(env: Record<string, string>): void {
  vi.unstubAllEnvs();
  vi.resetModules();
  for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
}

/** The answer of the api handler with its JSON body parsed. */
export interface ApiAnswer {
  readonly statusCode: number;
  readonly headers: Record<string, string>;
  readonly body: Record<string, unknown>;
}

export function parseAnswer(result: { statusCode: number; headers?: unknown; body: string }): ApiAnswer {
  return {
    statusCode: result.statusCode,
    headers: (result.headers ?? {}) as Record<string, string>,
    body: result.body ? (JSON.parse(result.body) as Record<string, unknown>) : {},
  };
}
