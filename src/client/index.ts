/**
 * The typed client of the sandbox control plane's API:
 * `import { SandboxClient } from 'agent-sandbox-control-plane/client'` (docs/client.md).
 */
export {
  type ApiErrorCode,
  type ApiErrorInit,
  ConflictError,
  InvalidRequestError,
  isApiError,
  NetworkError,
  NotFoundError,
  PreconditionFailedError,
  QuotaExceededError,
  SandboxApiError,
  SandboxEndedError,
  SandboxWaitError,
  ServerError,
  StorageQuotaExceededError,
  UnauthorizedError,
  UnavailableError,
  ValidationError,
  WaitTimeoutError,
} from './errors.js';
export type { FollowLogsOptions, WaitOptions, WaitProgress } from './polling.js';
export { MAX_WAIT_SECONDS } from './polling.js';
export {
  type CallOptions,
  DEFAULT_BASE_URL,
  SandboxClient,
  type SandboxClientOptions,
} from './sandbox-client.js';
export type { AwsCredentials, SigV4Options } from './sigv4.js';
export { type EventsOptions, parseEventStream, type SseMessage } from './sse.js';
export type { GetFileOptions, HistoryWriteOptions, PutFileOptions } from './storage-calls.js';
export type { ClientAuth, FetchLike } from './transport.js';
export type * from './types.js';
