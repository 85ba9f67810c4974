import { LambdaClient } from '@aws-sdk/client-lambda';

/** Attempts per call, first included, with the SDK's standard retry strategy. */
export const LAMBDA_MAX_ATTEMPTS = 3;

/**
 * The reconciler's Lambda client; region and credentials come from the Lambda environment.
 * `requestTimeoutMs` bounds one synchronous invocation (the function's own timeout and a margin).
 */
export function createLambdaClient(options: { readonly requestTimeoutMs: number }): LambdaClient {
  return new LambdaClient({
    retryMode: 'standard',
    maxAttempts: LAMBDA_MAX_ATTEMPTS,
    requestHandler: { requestTimeout: options.requestTimeoutMs },
  });
}
