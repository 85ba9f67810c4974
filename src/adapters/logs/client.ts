import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';

/** Attempts per call, first included, with the SDK's standard retry strategy. */
export const LOGS_MAX_ATTEMPTS = 3;

/** The logs function's CloudWatch Logs client; region and credentials come from the Lambda environment. */
export function createLogsClient(): CloudWatchLogsClient {
  return new CloudWatchLogsClient({ retryMode: 'standard', maxAttempts: LOGS_MAX_ATTEMPTS });
}
