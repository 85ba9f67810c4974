import * as z from '../../zod.js';
import type { AppDeps, Router } from '../app.js';
import { openApiDocument, type ServerEntry } from '../openapi.js';
import { defineRoute, type RouteSpec } from '../route.js';

export const openApiRoute = defineRoute({
  method: 'get',
  path: '/v1/openapi.json',
  operationId: 'getOpenApiDocument',
  tags: ['meta'],
  summary: 'This document, with the bounds this deployment is configured with',
  answers: {
    200: {
      description: 'The OpenAPI 3.1 document',
      schema: z.looseObject({ openapi: z.string() }),
    },
  },
});

/**
 * `GET /v1/openapi.json`: the document of `routes` (every route the app serves, this one included,
 * read at the first request) and of `servedElsewhere` (routes another function serves behind the
 * same API).
 */
export function registerDocumentRoute(
  router: Router,
  deps: AppDeps,
  routes: readonly RouteSpec[],
  servedElsewhere: readonly RouteSpec[] = [],
): void {
  let document: Record<string, unknown> | undefined;
  router.route(openApiRoute, (c) => {
    document ??= openApiDocument([...routes, ...servedElsewhere], {
      version: deps.version,
      lifecycle: deps.core.config,
      servers: deps.servers ?? [],
      hostPaths: deps.chatDirectoryOf !== undefined,
    });
    // The origin the caller reached comes first: a client generated from the document calls it.
    const here: ServerEntry = { url: new URL(c.req.url).origin, description: 'This server' };
    return c.json({ ...document, servers: [here, ...(document.servers as ServerEntry[])] }, 200);
  });
}
