import { type Context, Hono, type MiddlewareHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { StorageUsageStore } from '../core/chat-files-port.js';
import type { CoreDeps } from '../core/deps.js';
import { type ErrorCode, SandboxError } from '../core/errors.js';
import type { ChatKey } from '../core/model.js';
import type { Authenticator } from './auth.js';
import type { ServerEntry } from './openapi.js';
import { problemResponse } from './problems.js';
import { honoPath, type RouteHandler, type RouteSpec, routeHandler } from './route.js';
import { registerCompatHealthRoute, registerCompatRoutes } from './routes/compat-routes.js';
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
  /**
   * Serves the OpenAPI document of every route (`registerDocumentRoute`). Passed in rather than
   * imported, so a host that leaves the document to another function (the api function: the JSON
   * Schema generator would not fit its bundle budget) does not carry it.
   */
  readonly document?: (router: Router, deps: AppDeps, routes: readonly RouteSpec[]) => void;
  /**
   * Routes another function serves behind the same API (the logs function's), so a request for
   * their paths under another method still answers 405 with the right `Allow`.
   */
  readonly servedElsewhere?: readonly Pick<RouteSpec, 'method' | 'path'>[];
  /**
   * The request id when the caller sent none (the api function: API Gateway's own, so access logs
   * and function logs agree); absent: a random UUID.
   */
  readonly newRequestId?: (c: Context) => string | undefined;
  /** Told each request's id before the request is handled (the api function adds it to its log lines). */
  readonly onRequestId?: (requestId: string) => void;
  /**
   * A chat's directory on this host (local mode), which the compatibility create accepts as its
   * `volume_host_path`; absent: no such path means anything (AWS).
   */
  readonly chatDirectoryOf?: (key: ChatKey) => string;
  /** Chat storage's measured bytes, where the host serves chat storage (shown by `GET /v1/usage`). */
  readonly storage?: { readonly usage: StorageUsageStore; readonly ownerMaxBytes: number };
  /** Where the API is reached, for the document's `servers` (the request's own origin comes first). */
  readonly servers?: readonly ServerEntry[];
}

export interface AppEnv {
  Variables: {
    tenant: string;
    route: RouteSpec;
    problemCode: ErrorCode;
    requestId: string;
  };
}

export type App = Hono<AppEnv>;

/** Where route modules add their routes: each is mounted on the app and listed in the document. */
export interface Router {
  route<S extends RouteSpec>(spec: S, handler: RouteHandler<S, Context<AppEnv>>): void;
}

/** A request id a caller may send in `X-Request-Id` and get echoed; anything else is replaced. */
const REQUEST_ID = /^[A-Za-z0-9._:@=+/-]{1,128}$/;

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

  app.use('*', async (c, next) => {
    const sent = c.req.header('x-request-id');
    const requestId =
      sent !== undefined && REQUEST_ID.test(sent) ? sent : (deps.newRequestId?.(c) ?? crypto.randomUUID());
    c.set('requestId', requestId);
    deps.onRequestId?.(requestId);
    // On the context first, so every answer built from it carries the header (a HEAD answer is
    // rebuilt from its GET's headers by the Node server), then on the answer itself (streams).
    c.header('X-Request-Id', requestId);
    await next();
    c.res.headers.set('X-Request-Id', requestId);
  });

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

  // The routes without authentication come before it.
  registerHealthRoutes(router, deps);
  registerCompatHealthRoute(router);

  const authenticate: MiddlewareHandler<AppEnv> = async (c, next) => {
    const tenant = await deps.authenticate(c);
    if (!tenant) {
      c.header('WWW-Authenticate', 'Bearer');
      throw new SandboxError('unauthorized', 'Send valid credentials (Authorization: Bearer <token>).');
    }
    c.set('tenant', tenant);
    return next();
  };
  app.use('/v1/*', authenticate);
  app.use('/api/v1/*', authenticate);

  registerSandboxRoutes(router, deps);
  registerCompatRoutes(router, deps);
  registerUsageRoutes(router, deps);
  deps.moreRoutes?.(router);

  deps.document?.(router, deps, routes);

  const allowed = allowedMethods([...routes, ...(deps.servedElsewhere ?? [])]);
  app.notFound((c) => {
    const methods = allowed(c.req.path);
    if (methods.length === 0) {
      return problemResponse(
        c,
        new SandboxError('route_not_found', `No route for ${c.req.method} ${c.req.path}.`),
      );
    }
    c.header('Allow', methods.join(', '));
    return problemResponse(
      c,
      new SandboxError('method_not_allowed', `${c.req.path} answers ${methods.join(', ')}.`),
    );
  });

  app.onError((error, c) => {
    if (error instanceof SandboxError) return problemResponse(c, error);
    if (error instanceof HTTPException && error.status < 500) {
      return problemResponse(c, new SandboxError('validation_failed', 'The request is invalid.'));
    }
    deps.core.logger.error('request failed', {
      method: c.req.method,
      path: c.req.path,
      requestId: c.get('requestId'),
      error,
    });
    return problemResponse(c, new SandboxError('internal_error', 'internal'));
  });

  return app;
}

/**
 * The methods each path answers, for 405's `Allow`: a path that matches a route template under
 * another method. `HEAD` comes with every `GET` (Hono answers it from the GET handler).
 */
function allowedMethods(
  routes: readonly Pick<RouteSpec, 'method' | 'path'>[],
): (path: string) => readonly string[] {
  const templates = routes.map((route) => ({
    method: route.method.toUpperCase(),
    pattern: new RegExp(
      `^${route.path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[A-Za-z0-9_]+\}/g, '[^/]+')}$`,
    ),
  }));
  return (path) => {
    const methods = new Set<string>();
    for (const template of templates) {
      if (!template.pattern.test(path)) continue;
      methods.add(template.method);
      if (template.method === 'GET') methods.add('HEAD');
    }
    return [...methods].sort();
  };
}
