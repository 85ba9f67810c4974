import { LambdaClient } from '@aws-sdk/client-lambda';

/** Attempts per call, first included, with the SDK's standard retry strategy. */
export const LAMBDA_MAX_ATTEMPTS = 3;

/** The reconciler's Lambda client; region and credentials come from the Lambda environment. */
export function createLambdaClient(): LambdaClient {
  return new LambdaClient({ retryMode: 'standard', maxAttempts: LAMBDA_MAX_ATTEMPTS });
}
