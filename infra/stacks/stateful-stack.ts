import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { ChatFileSystem, type PosixIdentity } from '../constructs/chat-file-system.js';
import { type ExistingVpcProps, SandboxNetwork } from '../constructs/sandbox-network.js';
import { SessionTable } from '../constructs/session-table.js';

export interface StatefulStackProps extends StackProps {
  /** Deploy into an existing VPC instead of creating one. */
  readonly existingVpc?: ExistingVpcProps;
  /** POSIX identity of sandbox processes on EFS. @default uid 1000, gid 1000 */
  readonly posixUser?: PosixIdentity;
  /** Daily AWS Backup of the chat file system. @default true */
  readonly automaticBackups?: boolean;
}

/**
 * Everything that holds data or that data depends on: the session table, the chat file system and the
 * network its mount targets live in. Kept apart from the service stack so that the service can be
 * redeployed or destroyed freely; both stateful resources are RETAIN with pinned logical IDs.
 */
export class StatefulStack extends Stack {
  readonly network: SandboxNetwork;
  readonly sessions: SessionTable;
  readonly storage: ChatFileSystem;

  constructor(scope: Construct, id: string, props: StatefulStackProps = {}) {
    super(scope, id, props);

    this.network = new SandboxNetwork(this, 'Network', { existingVpc: props.existingVpc });
    this.sessions = new SessionTable(this, 'Sessions');
    new CfnOutput(this, 'SessionTableName', {
      value: this.sessions.table.tableName,
      description: 'The session table: what `npm run limits -- --table` takes',
    });
    this.storage = new ChatFileSystem(this, 'ChatStorage', {
      vpc: this.network.vpc,
      subnets: this.network.subnets,
      posixUser: props.posixUser,
      automaticBackups: props.automaticBackups,
    });
  }
}
