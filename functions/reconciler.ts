/** Lambda entry: EventBridge Scheduler (every minute) -> one reconcile pass, then volume retirement. */
import { createAwsDeps } from '../src/config/aws-deps.js';
import { reconcileWithRetirement } from '../src/config/reconcile-pass.js';
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
    const result = await reconcileWithRetirement(deps, context.awsRequestId, deadline);
    recordReconcile(deps.observability.metrics, result, result.volumes?.retired ?? 0);
    deps.observability.logger.info('reconciler summary', { ...result });
    return result;
  },
);
