/**
 * Classifies AWS SDK errors for the runtime. The SDK's standard retry strategy has already retried
 * throttling and server faults by the time an error reaches this code, so what is left decides between
 * "stay provisioning, the reconciler retries" (`LaunchError` retryable) and "this launch failed".
 */
import { LaunchError } from '../core/errors.js';

interface SdkErrorShape {
  readonly name?: unknown;
  readonly message?: unknown;
  readonly $fault?: unknown;
  readonly $metadata?: { readonly httpStatusCode?: unknown };
}

function shape(error: unknown): SdkErrorShape {
  return typeof error === 'object' && error !== null ? (error as SdkErrorShape) : {};
}

/** The error's code (`name` of an SDK exception), if it has one. */
export function errorName(error: unknown): string | undefined {
  const { name } = shape(error);
  return typeof name === 'string' ? name : undefined;
}

const THROTTLING_NAMES = new Set([
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'ProvisionedThroughputExceededException',
]);

/** Throttling that outlasted the SDK's retries. */
export function isThrottling(error: unknown): boolean {
  const name = errorName(error);
  return name !== undefined && THROTTLING_NAMES.has(name);
}

/** A server-side fault (ECS `ServerException`, HTTP 5xx) that outlasted the SDK's retries. */
export function isServerFault(error: unknown): boolean {
  const { $fault, $metadata } = shape(error);
  const status = $metadata?.httpStatusCode;
  return $fault === 'server' || (typeof status === 'number' && status >= 500);
}

/**
 * RegisterTaskDefinition refuses concurrent registrations into one family with a plain
 * `ClientException`; the message is the only thing that tells it from an invalid definition.
 */
export function isConcurrentRevision(error: unknown): boolean {
  const { message } = shape(error);
  return (
    errorName(error) === 'ClientException' &&
    typeof message === 'string' &&
    message.includes('Too many concurrent attempts to create a new revision')
  );
}

/**
 * RunTask `failures[]` reasons that mean "no capacity right now" (Fargate's capacity message, the
 * `RESOURCE:*` family of EC2 capacity providers): worth retrying later, unlike the rest.
 */
export function isCapacityFailure(reason: string | undefined): boolean {
  return (
    reason !== undefined && (reason.startsWith('Capacity is unavailable') || reason.startsWith('RESOURCE:'))
  );
}

/** A `LaunchError` for an SDK error raised at `step`: retryable for throttling and server faults. */
export function launchErrorFrom(step: string, error: unknown): LaunchError {
  const name = errorName(error) ?? 'Error';
  const retryable = isThrottling(error) || isServerFault(error) || isConcurrentRevision(error);
  const { message } = shape(error);
  const detail = typeof message === 'string' && message.length > 0 ? `${name}: ${message}` : name;
  return new LaunchError(`${step} failed (${detail.slice(0, 300)})`, retryable, { cause: error });
}
