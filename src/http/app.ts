import { OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { CoreDeps } from '../core/deps.js';
import { SandboxError } from '../core/errors.js';
import type { Authenticator } from './auth.js';
import { problemResponse } from './problems.js';
import { registerHealthRoutes } from './routes/health-routes.js';
import { registerSandboxRoutes } from './routes/sandbox-routes.js';
import { validationHook } from './validation.js';

export interface AppDeps {
  readonly core: CoreDeps;
  readonly authenticate: Authenticator;
  /** The package version, reported by the health route and the OpenAPI document. */
  readonly version: string;
  /**
   * Epoch ms by which the answer must be sent, if the host has such a limit (a Lambda function's
   * remaining time); long-polls end by then whatever `waitSeconds` asked for.
   */
  readonly answerBy?: (c: Context<AppEnv>) => number | undefined;
  /**
   * Whether the server answers for the request's `Host` (local mode: loopback names and the
   * configured host). Checked before anything else, so a page that reached the port through DNS
   * rebinding gets 421 and no further. Absent: every host (API Gateway fixes the host itself).
   */
  readonly acceptsHost?: (host: string) => boolean;
}

export interface AppEnv {
  Variables: { tenant: string };
}

export type App = OpenAPIHono<AppEnv>;

/** The HTTP API of API.md as a Hono app; the same app serves local mode and the Lambda function. */
export function createApp(deps: AppDeps): App {
  const app: App = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

  const { acceptsHost } = deps;
  if (acceptsHost) {
    app.use('*', async (c, next) => {
      const host = c.req.header('host') ?? new URL(c.req.url).host;
      if (!acceptsHost(host)) {
        throw new SandboxError('misdirected_request', 'This server answers only for its own host names.');
      }
      return next();
    });
  }

  registerHealthRoutes(app, deps);

  app.use('/v1/*', async (c, next) => {
    const tenant = await deps.authenticate(c);
    if (!tenant) {
      c.header('WWW-Authenticate', 'Bearer');
      throw new SandboxError('unauthorized', 'Send valid credentials (Authorization: Bearer <token>).');
    }
    c.set('tenant', tenant);
    return next();
  });

  registerSandboxRoutes(app, deps);

  app.openAPIRegistry.registerComponent('securitySchemes', 'bearerAuth', { type: 'http', scheme: 'bearer' });
  app.doc31('/v1/openapi.json', {
    openapi: '3.1.0',
    info: {
      title: 'Agent sandbox control plane',
      version: deps.version,
      description: 'Per-chat sandboxes for hosted AI agents. Errors are RFC 9457 problem details.',
    },
    security: [{ bearerAuth: [] }],
  });

  app.notFound((c) =>
    problemResponse(c, new SandboxError('route_not_found', `No route for ${c.req.method} ${c.req.path}.`)),
  );

  app.onError((error, c) => {
    if (error instanceof SandboxError) return problemResponse(c, error);
    if (error instanceof HTTPException && error.status < 500) {
      return problemResponse(c, new SandboxError('validation_failed', 'The request is invalid.'));
    }
    deps.core.logger.error('request failed', { method: c.req.method, path: c.req.path, error });
    return problemResponse(c, new SandboxError('internal_error', 'internal'));
  });

  return app;
}
