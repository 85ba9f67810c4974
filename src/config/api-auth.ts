/**
 * Who is calling, behind API Gateway: the IAM principal that signed the request (the HTTP API's IAM
 * authorizer puts it in `requestContext.authorizer.iam`), else a bearer token. API Gateway builds
 * the request context itself, so a client cannot forge it.
 */
import type { Context } from 'hono';
import { z } from 'zod';
import { type Authenticator, bearerTokenAuth, TENANT_PATTERN } from '../http/auth.js';
import type { AwsConfig } from './aws-config.js';

/** The part of the API Gateway v2 event (`c.env.event` under hono/aws-lambda) that names the IAM caller. */
const IamCaller = z.object({
  event: z.object({
    requestContext: z.object({
      authorizer: z.object({ iam: z.object({ userArn: z.string().min(1) }) }),
    }),
  }),
});

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

/** The IAM principal's ARN from the Lambda event, if the request came through the IAM authorizer. */
export function iamCallerArn(c: Context): string | null {
  const parsed = IamCaller.safeParse(c.env);
  return parsed.success ? parsed.data.event.requestContext.authorizer.iam.userArn : null;
}

/**
 * The api function's authenticator. In `iam` mode the signed principal is the tenant; a request
 * without one (or `token` mode) may still present a bearer token from SANDBOX_API_TOKENS.
 */
export function apiGatewayAuth(auth: AwsConfig['auth']): Authenticator {
  const bearer = bearerTokenAuth(auth.tenantsByTokenSha256);
  return (c) => {
    const principal = auth.mode === 'iam' ? iamCallerArn(c) : null;
    if (principal) return tenantOfPrincipal(principal);
    return auth.tenantsByTokenSha256.size > 0 ? bearer(c) : null;
  };
}
