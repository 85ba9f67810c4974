/**
 * Per-chat EFS access points: rooted at the chat's directory, which EFS creates on first mount with
 * the configured owner, so a chat's sandbox sees only its own files.
 */
import {
  AccessPointAlreadyExists,
  AccessPointLimitExceeded,
  AccessPointNotFound,
  CreateAccessPointCommand,
  DeleteAccessPointCommand,
  DescribeAccessPointsCommand,
  type EFSClient,
} from '@aws-sdk/client-efs';
import { LaunchError } from '../../core/errors.js';
import type { ChatKey } from '../../core/model.js';
import type { Clock, Logger } from '../../core/ports.js';
import type { AccessPoints } from '../../core/volume-ports.js';
import { chatRootPath, chatTags, TAG_KEYS } from '../aws-naming.js';
import { launchErrorFrom } from '../sdk-errors.js';

/** A new access point is usually `available` within a second; creation waits this long at most. */
const AVAILABLE_POLLS = 10;
const AVAILABLE_POLL_MS = 300;
/** Permissions of a chat directory EFS creates on first mount. */
const CHAT_DIRECTORY_PERMISSIONS = '750';

export interface EfsAccessPointsDeps {
  readonly efs: EFSClient;
  readonly fileSystemId: string;
  /** POSIX owner of chat directories: the access point's user and the directory's creator. */
  readonly owner: { readonly uid: number; readonly gid: number };
  readonly clock: Clock;
  readonly logger: Logger;
}

/** `AccessPoints` on one EFS file system. */
export class EfsAccessPoints implements AccessPoints {
  constructor(private readonly deps: EfsAccessPointsDeps) {}

  async create(key: ChatKey, clientToken: string): Promise<string> {
    const { efs, fileSystemId } = this.deps;
    const { uid, gid } = this.deps.owner;
    let accessPointId: string | undefined;
    let state: string | undefined;
    try {
      const created = await efs.send(
        new CreateAccessPointCommand({
          ClientToken: clientToken,
          FileSystemId: fileSystemId,
          PosixUser: { Uid: uid, Gid: gid },
          // CreationInfo makes EFS create the directory on first use; without it the mount fails (ENOENT).
          RootDirectory: {
            Path: chatRootPath(key),
            CreationInfo: { OwnerUid: uid, OwnerGid: gid, Permissions: CHAT_DIRECTORY_PERMISSIONS },
          },
          Tags: [
            { Key: 'Name', Value: `chat-${key.chatId}` },
            ...chatTags(key).map((tag) => ({ Key: tag.key, Value: tag.value })),
            // Access point ARNs name no file system: this tag is what IAM checks a delete against.
            { Key: TAG_KEYS.fileSystemId, Value: fileSystemId },
          ],
        }),
      );
      accessPointId = created.AccessPointId;
      state = created.LifeCycleState;
    } catch (error) {
      if (error instanceof AccessPointAlreadyExists && error.AccessPointId) {
        // The same token was used before: a re-issued launch of this session already created it.
        accessPointId = error.AccessPointId;
      } else if (error instanceof AccessPointLimitExceeded) {
        throw new LaunchError(
          `file system ${fileSystemId} has reached its access point limit (10,000); ` +
            'lower the volume retirement age or add a file system',
          false,
          { cause: error },
        );
      } else {
        throw launchErrorFrom('CreateAccessPoint', error);
      }
    }
    if (!accessPointId) throw new LaunchError('CreateAccessPoint answered no access point id', true);
    if (state !== 'available') await this.waitUntilAvailable(accessPointId);
    return accessPointId;
  }

  async delete(accessPointId: string): Promise<void> {
    try {
      await this.deps.efs.send(new DeleteAccessPointCommand({ AccessPointId: accessPointId }));
    } catch (error) {
      if (!(error instanceof AccessPointNotFound)) throw error;
    }
  }

  /** Polls briefly: Fargate mounts much later than this, but a mount of a `creating` access point fails. */
  private async waitUntilAvailable(accessPointId: string): Promise<void> {
    const { efs, clock, logger } = this.deps;
    for (let poll = 0; poll < AVAILABLE_POLLS; poll += 1) {
      let state: string | undefined;
      try {
        const described = await efs.send(new DescribeAccessPointsCommand({ AccessPointId: accessPointId }));
        state = described.AccessPoints?.[0]?.LifeCycleState;
      } catch (error) {
        throw launchErrorFrom('DescribeAccessPoints', error);
      }
      if (state === 'available') return;
      if (state === 'error' || state === 'deleting' || state === 'deleted') {
        throw new LaunchError(`access point ${accessPointId} is ${state}`, false);
      }
      await clock.sleep(AVAILABLE_POLL_MS);
    }
    logger.warn('access point not yet available; launching anyway', { accessPointId });
  }
}
