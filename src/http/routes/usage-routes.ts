import type { StorageScope } from '../../core/chat-files-port.js';
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

/** `GET /v1/usage`, with chat storage's bytes where the host serves chat storage. */
export function registerUsageRoutes(app: Router, { core, storage }: AppDeps): void {
  app.route(usageRoute, async (c, { query }) => {
    const tenant = c.get('tenant');
    const scope: StorageScope = query.ownerId
      ? { kind: 'owner', tenant, ownerId: query.ownerId }
      : { kind: 'unowned', tenant };
    const [report, chats] = await Promise.all([
      usageReport(core, tenant, query),
      storage ? storage.usage.get(scope) : Promise.resolve(null),
    ]);
    const measured = chats === null ? null : Object.values(chats);
    return c.json(
      {
        ...report,
        storage:
          storage && measured
            ? {
                scope: scope.kind,
                usedBytes: measured.reduce((total, bytes) => total + bytes, 0),
                limitBytes: storage.ownerMaxBytes,
                chats: measured.length,
              }
            : null,
      },
      200,
    );
  });
}
