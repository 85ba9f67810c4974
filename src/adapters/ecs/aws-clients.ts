/**
 * The AWS SDK clients of the Lambda functions, built in one place with the SDK's standard retry
 * strategy (exponential backoff with jitter, throttling-aware). Errors that outlast the retries reach
 * the adapters, which decide what they mean.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ECSClient } from '@aws-sdk/client-ecs';
import { EFSClient } from '@aws-sdk/client-efs';

export interface AwsClients {
  readonly dynamodb: DynamoDBClient;
  readonly ecs: ECSClient;
  readonly efs: EFSClient;
}

export interface AwsClientOptions {
  /** A DynamoDB endpoint other than AWS's (DynamoDB Local in tests). */
  readonly dynamodbEndpoint?: string | undefined;
}

/**
 * Attempts per call, first included. RegisterTaskDefinition and RunTask throttle first; the API
 * function must still answer within API Gateway's 30 s, so the budget stays small and the reconciler
 * finishes what throttling leaves behind.
 */
export const MAX_ATTEMPTS = { dynamodb: 3, ecs: 4, efs: 4 } as const;

/** Clients for the functions; region and credentials come from the Lambda environment. */
export function createAwsClients(options: AwsClientOptions = {}): AwsClients {
  return {
    dynamodb: new DynamoDBClient({
      retryMode: 'standard',
      maxAttempts: MAX_ATTEMPTS.dynamodb,
      ...(options.dynamodbEndpoint ? { endpoint: options.dynamodbEndpoint } : {}),
    }),
    ecs: new ECSClient({ retryMode: 'standard', maxAttempts: MAX_ATTEMPTS.ecs }),
    efs: new EFSClient({ retryMode: 'standard', maxAttempts: MAX_ATTEMPTS.efs }),
  };
}
