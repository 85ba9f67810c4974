import { createRoute } from '@hono/zod-openapi';
import type { App, AppDeps } from '../app.js';
import { HealthQuery, HealthResponse } from '../schemas.js';

const STORE_PING_TIMEOUT_MS = 2_000;

const health = createRoute({
  method: 'get',
  path: '/v1/health',
  summary: 'Liveness; with deep=true also checks the session store',
  security: [],
  request: { query: HealthQuery },
  responses: {
    200: { description: 'Healthy', content: { 'application/json': { schema: HealthResponse } } },
    503: {
      description: 'The session store is unreachable',
      content: { 'application/json': { schema: HealthResponse } },
    },
  },
});

/** `GET /v1/health`, the one route without authentication. */
export function registerHealthRoutes(app: App, deps: AppDeps): void {
  app.openapi(health, async (c) => {
    if (c.req.valid('query').deep !== 'true')
      return c.json({ status: 'ok' as const, version: deps.version }, 200);
    const reachable = await Promise.race([
      deps.core.store.ping().then(
        () => true,
        () => false,
      ),
      new Promise<boolean>((resolve) => setTimeout(resolve, STORE_PING_TIMEOUT_MS, false).unref()),
    ]);
    return reachable
      ? c.json({ status: 'ok' as const, version: deps.version, checks: { store: 'ok' } }, 200)
      : c.json({ status: 'degraded' as const, version: deps.version, checks: { store: 'unreachable' } }, 503);
  });
}
