/** Lambda entry: EventBridge Scheduler (every minute) -> one reconcile pass, then volume retirement. */
import { createAwsDeps } from '../src/config/aws-deps.js';
import { reconcile } from '../src/core/reconcile.js';
import { recordReconcile } from '../src/observability/metrics.js';
import { instrument } from '../src/observability/powertools.js';

/** Time kept back from the Lambda timeout to release the lease and flush metrics. */
const SAFETY_MARGIN_MS = 5_000;
const deps = createAwsDeps('sandbox-reconciler');

export const handler = instrument(
  deps.observability,
  () => undefined,
  async (_event: unknown, context) => {
    const deadline = deps.core.clock.now() + context.getRemainingTimeInMillis() - SAFETY_MARGIN_MS;
    const summary = await reconcile(deps.core, { holder: context.awsRequestId, deadline });
    // Only the pass that holds the lease retires volumes, and only if it got through its sessions.
    const volumes = summary.ran && !summary.truncated ? await deps.retirer.retireDue({ deadline }) : null;
    recordReconcile(deps.observability.metrics, summary, volumes?.retired ?? 0);
    deps.observability.logger.info('reconciler summary', { ...summary, volumes });
    return { ...summary, volumes };
  },
);
