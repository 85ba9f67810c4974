/**
 * Every route `createApp` serves on every host, for the committed contract (docs/openapi.json). A
 * test compares this list with what a running app serves, so a route added to one is added to both.
 */
import type { RouteSpec } from '../route.js';
import { compatCreateRoute, compatDeleteRoute, compatHealthRoute } from './compat-routes.js';
import { openApiRoute } from './document-route.js';
import { healthRoute } from './health-routes.js';
import {
  deleteSandboxRoute,
  getSandboxRoute,
  keepaliveRoute,
  listSandboxesRoute,
  putSandboxRoute,
} from './sandbox-routes.js';
import { usageRoute } from './usage-routes.js';

export const SHARED_ROUTES: readonly RouteSpec[] = [
  healthRoute,
  putSandboxRoute,
  getSandboxRoute,
  keepaliveRoute,
  deleteSandboxRoute,
  listSandboxesRoute,
  usageRoute,
  openApiRoute,
  compatHealthRoute,
  compatCreateRoute,
  compatDeleteRoute,
];
