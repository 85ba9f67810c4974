import type { AppDeps, Router } from '../app.js';
import { defineRoute, RETRY_AFTER } from '../route.js';
import { HealthQuery, HealthResponse } from '../schemas.js';

const STORE_PING_TIMEOUT_MS = 2_000;
/** What a degraded answer tells a prober to wait. */
const DEGRADED_RETRY_AFTER_SECONDS = 5;

export const healthRoute = defineRoute({
  method: 'get',
  path: '/v1/health',
  operationId: 'getHealth',
  tags: ['health'],
  summary: 'Liveness; with deep=true also checks the session store',
  authenticated: false,
  query: HealthQuery,
  answers: {
    200: { description: 'Healthy', schema: HealthResponse },
    422: { description: 'Invalid query', problems: ['validation_failed'] },
    503: {
      description: 'The session store is unreachable',
      schema: HealthResponse,
      headers: RETRY_AFTER,
    },
  },
});

/** `GET /v1/health`, the one route without authentication. */
export function registerHealthRoutes(app: Router, deps: AppDeps): void {
  app.route(healthRoute, async (c, { query }) => {
    if (query.deep !== 'true') return c.json({ status: 'ok' as const, version: deps.version }, 200);
    const reachable = await Promise.race([
      deps.core.store.ping().then(
        () => true,
        () => false,
      ),
      new Promise<boolean>((resolve) => setTimeout(resolve, STORE_PING_TIMEOUT_MS, false).unref()),
    ]);
    return reachable
      ? c.json({ status: 'ok' as const, version: deps.version, checks: { store: 'ok' } }, 200)
      : c.json(
          { status: 'degraded' as const, version: deps.version, checks: { store: 'unreachable' } },
          503,
          { 'Retry-After': String(DEGRADED_RETRY_AFTER_SECONDS) },
        );
  });
}
