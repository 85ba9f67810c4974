/**
 * Tasks of the sandbox cluster by their `startedBy`: who owns one (the tenant looked up from its
 * hash), and stopping one. What the task-events function needs of ECS, and a part of the runtime.
 */
import { type ECSClient, InvalidParameterException, StopTaskCommand } from '@aws-sdk/client-ecs';
import { LaunchError } from '../../core/errors.js';
import { type TenantDirectory, TenantHashCollisionError } from '../../core/volume-ports.js';
import { parseStartedBy, type TaskOwner, tenantHash } from '../aws-naming.js';

/** StopTask's `reason` is at most 255 characters. */
const MAX_STOP_REASON = 255;

/** A task's owner with the tenant resolved. */
export interface ResolvedOwner extends Omit<TaskOwner, 'tenantHash'> {
  readonly tenant: string;
}

export interface EcsTasksDeps {
  readonly ecs: ECSClient;
  readonly clusterArn: string;
  readonly tenants: TenantDirectory;
}

export class EcsTasks {
  /** Tenant hash -> tenant, filled from launches and lookups; the mapping never changes. */
  private readonly tenantsByHash = new Map<string, string>();

  constructor(private readonly deps: EcsTasksDeps) {}

  /** Asks the task to stop; one that is gone already is a success. */
  async stop(ref: string, reason: string): Promise<void> {
    try {
      await this.deps.ecs.send(
        new StopTaskCommand({
          cluster: this.deps.clusterArn,
          task: ref,
          reason: reason.slice(0, MAX_STOP_REASON),
        }),
      );
    } catch (error) {
      // "The referenced task was not found": gone already, which is what stop asks for.
      if (error instanceof InvalidParameterException) return;
      throw error;
    }
  }

  /** The owner a task's `startedBy` names, with its tenant looked up; null if unknown. */
  async ownerOf(startedBy: string | undefined): Promise<ResolvedOwner | null> {
    const owner = parseStartedBy(startedBy);
    if (!owner) return null;
    let tenant = this.tenantsByHash.get(owner.tenantHash) ?? null;
    if (!tenant) {
      tenant = await this.deps.tenants.lookup(owner.tenantHash);
      if (tenant) this.tenantsByHash.set(owner.tenantHash, tenant);
    }
    return tenant ? { tenant, chatId: owner.chatId, sessionId: owner.sessionId, port: owner.port } : null;
  }

  /** The tenant hash a launch carries, recorded in the directory (once per process and tenant). */
  async rememberTenant(tenant: string): Promise<string> {
    const hash = tenantHash(tenant);
    if (this.tenantsByHash.get(hash) !== tenant) {
      try {
        await this.deps.tenants.remember(hash, tenant);
      } catch (error) {
        if (error instanceof TenantHashCollisionError)
          throw new LaunchError(error.message, false, { cause: error });
        throw error;
      }
      this.tenantsByHash.set(hash, tenant);
    }
    return hash;
  }
}
