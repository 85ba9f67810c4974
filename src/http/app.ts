import { type Context, Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { CoreDeps } from '../core/deps.js';
import { type ErrorCode, SandboxError } from '../core/errors.js';
import type { Authenticator } from './auth.js';
import { openApiDocument } from './openapi.js';
import { problemResponse } from './problems.js';
import { honoPath, type RouteHandler, type RouteSpec, routeHandler } from './route.js';
import { registerHealthRoutes } from './routes/health-routes.js';
import { registerSandboxRoutes } from './routes/sandbox-routes.js';
import { registerUsageRoutes } from './routes/usage-routes.js';

/** What the server answered, for metrics: the route template, not the path, and the problem code. */
export interface HttpAnswer {
  readonly method: string;
  /** The route's OpenAPI path (`/v1/chats/{chatId}/sandbox`); null when no route matched. */
  readonly route: string | null;
  readonly operationId: string | null;
  readonly status: number;
  readonly code: ErrorCode | null;
}

export interface AppDeps {
  readonly core: CoreDeps;
  readonly authenticate: Authenticator;
  /** The package version, reported by the health route and the OpenAPI document. */
  readonly version: string;
  /**
   * Epoch ms by which the answer must be sent, if the host has such a limit (a Lambda function's
   * remaining time); long-polls end by then whatever `waitSeconds` asked for.
   */
  readonly answerBy?: (c: Context) => number | undefined;
  /**
   * Whether the server answers for the request's `Host` (local mode: loopback names and the
   * configured host). Checked before anything else, so a page that reached the port through DNS
   * rebinding gets 421 and no further. Absent: every host (API Gateway fixes the host itself).
   */
  readonly acceptsHost?: (host: string) => boolean;
  /** Called once per answer (the api function counts them as metrics). */
  readonly onAnswer?: (answer: HttpAnswer) => void;
  /** Routes only one host serves (local mode's event stream), added after the shared ones. */
  readonly moreRoutes?: (router: Router) => void;
}

export interface AppEnv {
  Variables: {
    tenant: string;
    route: RouteSpec;
    problemCode: ErrorCode;
  };
}

export type App = Hono<AppEnv>;

/** Where route modules add their routes: each is mounted on the app and listed in the document. */
export interface Router {
  route<S extends RouteSpec>(spec: S, handler: RouteHandler<S, Context<AppEnv>>): void;
}

const INFO = {
  title: 'Agent sandbox control plane',
  description: 'Per-chat sandboxes for hosted AI agents. Errors are RFC 9457 problem details.',
};

/** The HTTP API as a Hono app; the same app serves local mode and the Lambda function. */
export function createApp(deps: AppDeps): App {
  const app: App = new Hono<AppEnv>();
  const routes: RouteSpec[] = [];
  const router: Router = {
    route(spec, handler) {
      routes.push(spec);
      app.on(
        spec.method.toUpperCase(),
        honoPath(spec.path),
        async (c, next) => {
          c.set('route', spec);
          await next();
        },
        ...(spec.before ?? []),
        routeHandler(spec, handler as RouteHandler<RouteSpec>),
      );
    },
  };

  const { onAnswer, acceptsHost } = deps;
  if (onAnswer) {
    app.use('*', async (c, next) => {
      await next();
      const spec = c.get('route');
      onAnswer({
        method: c.req.method,
        route: spec?.path ?? null,
        operationId: spec?.operationId ?? null,
        status: c.res.status,
        code: c.get('problemCode') ?? null,
      });
    });
  }
  if (acceptsHost) {
    app.use('*', async (c, next) => {
      const host = c.req.header('host') ?? new URL(c.req.url).host;
      if (!acceptsHost(host)) {
        throw new SandboxError('misdirected_request', 'This server answers only for its own host names.');
      }
      return next();
    });
  }

  registerHealthRoutes(router, deps);

  app.use('/v1/*', async (c, next) => {
    const tenant = await deps.authenticate(c);
    if (!tenant) {
      c.header('WWW-Authenticate', 'Bearer');
      throw new SandboxError('unauthorized', 'Send valid credentials (Authorization: Bearer <token>).');
    }
    c.set('tenant', tenant);
    return next();
  });

  registerSandboxRoutes(router, deps);
  registerUsageRoutes(router, deps);
  deps.moreRoutes?.(router);

  let document: Record<string, unknown> | undefined;
  app.get('/v1/openapi.json', (c) => {
    document ??= openApiDocument(routes, { ...INFO, version: deps.version });
    return c.json(document);
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
