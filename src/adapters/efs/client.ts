import { EFSClient } from '@aws-sdk/client-efs';

/** Attempts per call, first included, with the SDK's standard retry strategy. */
export const EFS_MAX_ATTEMPTS = 4;

/** The functions' EFS client; region and credentials come from the Lambda environment. */
export function createEfsClient(): EFSClient {
  return new EFSClient({ retryMode: 'standard', maxAttempts: EFS_MAX_ATTEMPTS });
}
