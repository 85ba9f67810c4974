import type { LifecycleConfig } from './lifecycle.js';
import type { Clock, IdGenerator, Logger, SandboxRuntime, SessionStore } from './ports.js';
import type { QuotaStore } from './quota-ports.js';

/** Everything core's operations need, passed explicitly. */
export interface CoreDeps {
  readonly store: SessionStore;
  readonly quotas: QuotaStore;
  readonly runtime: SandboxRuntime;
  readonly clock: Clock;
  readonly ids: IdGenerator;
  readonly config: LifecycleConfig;
  readonly logger: Logger;
}
