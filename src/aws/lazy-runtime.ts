import type { LaunchResult, LaunchSpec, RuntimeInventory, SandboxRuntime, TaskState } from '../core/ports.js';

/**
 * A runtime built on its first use. The api function's hot path (a reuse) never touches the runtime,
 * so its cold start does not construct the ECS and EFS clients (docs/performance.md).
 */
export class LazyRuntime implements SandboxRuntime {
  private built: SandboxRuntime | null = null;

  constructor(private readonly build: () => SandboxRuntime) {}

  private runtime(): SandboxRuntime {
    this.built ??= this.build();
    return this.built;
  }

  launch(spec: LaunchSpec): Promise<LaunchResult> {
    return this.runtime().launch(spec);
  }

  describe(ref: string): Promise<TaskState> {
    return this.runtime().describe(ref);
  }

  stop(ref: string, reason: string): Promise<void> {
    return this.runtime().stop(ref, reason);
  }

  inventory(): Promise<RuntimeInventory> {
    return this.runtime().inventory();
  }
}
