import { usageReport } from '../../core/usage.js';
import type { AppDeps, Router } from '../app.js';
import { defineRoute } from '../route.js';
import { UsageQuery, UsageResponse } from '../schemas.js';

export const usageRoute = defineRoute({
  method: 'get',
  path: '/v1/usage',
  operationId: 'getUsage',
  tags: ['usage'],
  summary: "The tenant's (or one owner's) live sandboxes, limits and daily totals of finished sessions",
  description:
    'Days are UTC; a session counts on the day it ended, for its time from becoming running to ending. vCPU- and GiB-seconds use the size of its profile.',
  query: UsageQuery,
  answers: {
    200: { description: 'Live counts, limits and daily totals', schema: UsageResponse },
    422: { description: 'Invalid query', problems: ['validation_failed'] },
  },
});

/** `GET /v1/usage`. */
export function registerUsageRoutes(app: Router, { core }: AppDeps): void {
  app.route(usageRoute, async (c, { query }) => c.json(await usageReport(core, c.get('tenant'), query), 200));
}
