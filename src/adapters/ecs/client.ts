import { ECSClient } from '@aws-sdk/client-ecs';

/**
 * Attempts per call, first included, with the SDK's standard retry strategy. RegisterTaskDefinition
 * and RunTask throttle first; what throttling leaves behind, the reconciler finishes.
 */
export const ECS_MAX_ATTEMPTS = 4;

/** The functions' ECS client; region and credentials come from the Lambda environment. */
export function createEcsClient(): ECSClient {
  return new ECSClient({ retryMode: 'standard', maxAttempts: ECS_MAX_ATTEMPTS });
}
