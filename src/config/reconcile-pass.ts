import type { RetireSummary } from '../adapters/ecs/volume-retirer.js';
import { type ReconcileSummary, reconcile } from '../core/reconcile.js';
import type { AwsDeps } from './aws-deps.js';

export type ReconcilerResult = ReconcileSummary & { readonly volumes: RetireSummary | null };

/**
 * One reconcile pass on AWS: core's pass, then (under the same lease, and only if the pass got
 * through its sessions) the retirement of idle chat volumes.
 */
export async function reconcileWithRetirement(
  deps: AwsDeps,
  holder: string,
  deadline: number,
): Promise<ReconcilerResult> {
  const retired: { volumes: RetireSummary | null } = { volumes: null };
  const summary = await reconcile(deps.core, {
    holder,
    deadline,
    whileLeased: async () => {
      retired.volumes = await deps.retirer.retireDue({ deadline });
    },
  });
  return { ...summary, volumes: retired.volumes };
}
