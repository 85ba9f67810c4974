/**
 * The api function behind API Gateway (HTTP API, payload 2.0), as Hono sees it through
 * `hono/aws-lambda`: the Lambda event and context are the app's bindings (`c.env`).
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'hono';
import type { LambdaContext, LambdaEvent } from 'hono/aws-lambda';
import type { AuthSettings } from '../config/aws.js';
import { TENANT_PATTERN } from '../core/model.js';
import type { AppDeps } from '../http/app.js';
import { type Authenticator, bearerTokenAuth } from '../http/auth.js';
import { VERSION } from '../version.js';

/** What `hono/aws-lambda` binds to `c.env`. */
export interface LambdaBindings {
  readonly event: LambdaEvent;
  readonly lambdaContext: LambdaContext;
}

type LambdaHonoContext = Context<{ Bindings: LambdaBindings }>;

/** Kept back from the Lambda's remaining time to write the answer and flush metrics. */
const ANSWER_MARGIN_MS = 2_000;

/**
 * The epoch ms by which the api function must answer: its remaining time less a margin. A long-poll
 * that ran past it would end as a function timeout, not as the sandbox's state.
 */
export function lambdaAnswerBy(c: LambdaHonoContext): number | undefined {
  const remaining = c.env?.lambdaContext?.getRemainingTimeInMillis?.();
  return remaining === undefined ? undefined : Date.now() + remaining - ANSWER_MARGIN_MS;
}

const ASSUMED_ROLE = /^arn:(aws[a-z-]*):sts::(\d{12}):assumed-role\/([^/]+)\/[^/]+$/;

/**
 * The tenant of an IAM principal: its ARN, except that a role session (`assumed-role/<role>/<session>`)
 * becomes its role, so every session of one role is one tenant. Null if it does not fit TENANT_PATTERN.
 */
export function tenantOfPrincipal(userArn: string): string | null {
  const assumed = ASSUMED_ROLE.exec(userArn);
  const tenant = assumed ? `arn:${assumed[1]}:iam::${assumed[2]}:role/${assumed[3]}` : userArn;
  return TENANT_PATTERN.test(tenant) ? tenant : null;
}

/**
 * The ARN of the IAM principal that signed the request, which the HTTP API's IAM authorizer puts in
 * `requestContext.authorizer.iam`. API Gateway builds the request context itself: a client cannot
 * forge it.
 */
export function iamCallerArn(c: LambdaHonoContext): string | null {
  const context = c.env?.event?.requestContext as
    | { authorizer?: { iam?: { userArn?: unknown } } }
    | undefined;
  const arn = context?.authorizer?.iam?.userArn;
  return typeof arn === 'string' && arn.length > 0 ? arn : null;
}

/**
 * The api function's authenticator. In `iam` mode the signed principal is the tenant; a request
 * without one (or `token` mode) may still present a bearer token from SANDBOX_API_TOKENS.
 */
export function apiGatewayAuth(auth: AuthSettings): Authenticator {
  const bearer = bearerTokenAuth(auth.tenantsByTokenSha256);
  return (c) => {
    const principal = auth.mode === 'iam' ? iamCallerArn(c) : null;
    if (principal) return tenantOfPrincipal(principal);
    return auth.tenantsByTokenSha256.size > 0 ? bearer(c) : null;
  };
}

/** The API Gateway request id of an HTTP event (`requestContext.requestId`), the api's correlation id. */
export function requestIdOf(event: unknown): string | undefined {
  const context = (event as { requestContext?: { requestId?: unknown } } | null)?.requestContext;
  return typeof context?.requestId === 'string' ? context.requestId : undefined;
}

/**
 * What every function behind API Gateway gives `createApp`: the caller's tenant from the IAM
 * authorizer or a bearer token, the answer deadline of the Lambda run, and API Gateway's request
 * id unless the caller sent one (access logs and function logs agree), added to each log line.
 */
export function apiGatewayAppDeps(
  auth: AuthSettings,
  logger: Pick<Logger, 'appendKeys'>,
): Pick<AppDeps, 'authenticate' | 'version' | 'answerBy' | 'newRequestId' | 'onRequestId'> {
  return {
    authenticate: apiGatewayAuth(auth),
    version: VERSION,
    answerBy: lambdaAnswerBy,
    newRequestId: (c) => requestIdOf(c.env?.event),
    onRequestId: (requestId) => logger.appendKeys({ requestId }),
  };
}
