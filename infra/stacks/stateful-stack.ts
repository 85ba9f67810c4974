import { CfnOutput, type Duration, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { ChatFileSystem, type PosixIdentity } from '../constructs/chat-file-system.js';
import { SandboxEvents } from '../constructs/sandbox-events.js';
import { type ExistingVpcProps, SandboxNetwork } from '../constructs/sandbox-network.js';
import { SessionTable } from '../constructs/session-table.js';

export interface StatefulStackProps extends StackProps {
  /** Deploy into an existing VPC instead of creating one. */
  readonly existingVpc?: ExistingVpcProps;
  /** POSIX identity of sandbox processes on EFS. @default uid 1000, gid 1000 */
  readonly posixUser?: PosixIdentity;
  /** Daily AWS Backup of the chat file system. @default true */
  readonly automaticBackups?: boolean;
  /** How long the event archive keeps lifecycle events for replay. @default 30 days */
  readonly eventArchiveRetention?: Duration;
}

/**
 * Everything that holds data or that data depends on: the session table, the chat file system, the
 * network its mount targets live in, and the lifecycle event bus with its archive (which subscribers'
 * rules live on). Kept apart from the service stack so that the service can be
 * redeployed or destroyed freely; both stateful resources are RETAIN with pinned logical IDs.
 */
export class StatefulStack extends Stack {
  readonly network: SandboxNetwork;
  readonly sessions: SessionTable;
  readonly storage: ChatFileSystem;
  readonly events: SandboxEvents;

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
    this.events = new SandboxEvents(this, 'Events', { archiveRetention: props.eventArchiveRetention });
    new CfnOutput(this, 'EventBusName', {
      value: this.events.bus.eventBusName,
      description: 'Lifecycle events (source agent-sandbox): add your own rules to this bus',
      exportName: `${this.stackName}-EventBusName`,
    });
    new CfnOutput(this, 'EventBusArn', {
      value: this.events.bus.eventBusArn,
      exportName: `${this.stackName}-EventBusArn`,
    });
  }
}
