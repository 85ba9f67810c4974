/** Lambda entry: EventBridge Scheduler (every minute) -> one reconcile pass, then volume retirement. */
import { createReconcilerHandler } from '../src/aws/reconciler.js';

export const handler = createReconcilerHandler();
