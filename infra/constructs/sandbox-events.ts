import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import { Construct } from 'constructs';
import { EVENT_SOURCE } from '../../src/names.js';

/** Logical ID of the bus; changing it would replace the bus and drop every subscriber's rules. */
export const EVENT_BUS_LOGICAL_ID = 'SandboxEventBus';

export interface SandboxEventsProps {
  /** How long the archive keeps events for replay. @default 30 days */
  readonly archiveRetention?: Duration;
}

/**
 * The bus lifecycle events go to, in the user's own account: platforms subscribe with rules of
 * their own (`source: ["agent-sandbox"]`), and an archive keeps every event for replay. It lives in
 * the stateful stack, so redeploying or destroying the service keeps the bus, its rules and its
 * archive.
 */
export class SandboxEvents extends Construct {
  readonly bus: events.EventBus;
  readonly archive: events.Archive;

  constructor(scope: Construct, id: string, props: SandboxEventsProps = {}) {
    super(scope, id);
    this.bus = new events.EventBus(this, 'Bus', { description: 'Agent sandbox lifecycle events' });
    (this.bus.node.defaultChild as events.CfnEventBus).overrideLogicalId(EVENT_BUS_LOGICAL_ID);
    this.bus.applyRemovalPolicy(RemovalPolicy.RETAIN);
    this.archive = this.bus.archive('Archive', {
      description: 'Every lifecycle event, for replay',
      eventPattern: { source: [EVENT_SOURCE] },
      retention: props.archiveRetention ?? Duration.days(30),
    });
  }
}
