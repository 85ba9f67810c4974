import { describe, expect, it } from 'vitest';
import { encodeStartedBy, parseStartedBy, tenantHash } from '../../src/adapters/aws-naming.js';
import type { ResolvedOwner } from '../../src/adapters/ecs/ecs-tasks.js';
import { translateTaskEvent } from '../../src/adapters/ecs/task-events.js';
import { taskStateChange } from '../functions/events.js';
import { CLUSTER_ARN, taskArn } from './fixtures.js';

const TENANT = 'acme';
const CHAT = '11111111-1111-4111-8111-111111111111';
const SESSION = '3701cfe3-e05e-48af-8385-442dcd954ca2';
const STARTED_BY = encodeStartedBy({
  tenantHash: tenantHash(TENANT),
  chatId: CHAT,
  sessionId: SESSION,
  port: 8000,
});

const context = {
  clusterArn: CLUSTER_ARN,
  ownerOf: async (startedBy: string | undefined): Promise<ResolvedOwner | null> => {
    const owner = parseStartedBy(startedBy);
    return owner?.tenantHash === tenantHash(TENANT) ? { ...owner, tenant: TENANT } : null;
  },
};

describe('translateTaskEvent', () => {
  it('turns RUNNING into a running event with the ENI address and the port from startedBy', async () => {
    const event = taskStateChange({
      taskArn: taskArn('a'),
      startedBy: STARTED_BY,
      lastStatus: 'RUNNING',
      version: 4,
    });
    await expect(translateTaskEvent(event, context)).resolves.toEqual({
      kind: 'event',
      event: {
        kind: 'running',
        tenant: TENANT,
        chatId: CHAT,
        sessionId: SESSION,
        ref: taskArn('a'),
        version: 4,
        endpoint: { host: '10.0.0.139', port: 8000 },
        health: 'starting',
      },
    });
  });

  it('carries the health ECS reports for a task with a health check', async () => {
    const event = taskStateChange({
      taskArn: taskArn('a'),
      startedBy: STARTED_BY,
      lastStatus: 'RUNNING',
      version: 5,
      healthStatus: 'HEALTHY',
    });
    const translated = await translateTaskEvent(event, context);
    expect(translated.kind === 'event' && translated.event).toMatchObject({
      kind: 'running',
      health: 'healthy',
    });
  });

  it('turns STOPPED into a stopped event with the stopped reason', async () => {
    const event = taskStateChange({
      taskArn: taskArn('a'),
      startedBy: STARTED_BY,
      lastStatus: 'STOPPED',
      version: 6,
      stoppedReason: 'Essential container in task exited',
    });
    const translated = await translateTaskEvent(event, context);
    expect(translated).toMatchObject({
      kind: 'event',
      event: { kind: 'stopped', reason: 'Essential container in task exited' },
    });
  });

  it.each([
    ['other_cluster', { clusterArn: 'arn:aws:ecs:us-west-2:111122223333:cluster/other' }],
    ['unknown_task', { startedBy: 'ecs-svc/9223370556150183303' }],
    [
      'unknown_tenant',
      {
        startedBy: encodeStartedBy({
          tenantHash: 'ffffffffffffffff',
          chatId: CHAT,
          sessionId: SESSION,
          port: 1,
        }),
      },
    ],
    ['transitional_status', { lastStatus: 'PENDING' }],
    ['transitional_status', { lastStatus: 'RUNNING', desiredStatus: 'STOPPED' }],
  ])('ignores %s events', async (reason, overrides) => {
    const event = taskStateChange({
      taskArn: taskArn('a'),
      startedBy: STARTED_BY,
      lastStatus: 'RUNNING',
      version: 2,
      ...overrides,
    });
    await expect(translateTaskEvent(event, context)).resolves.toMatchObject({ kind: 'ignored', reason });
  });

  it('ignores an event that is not an ECS task state change, naming what is wrong', async () => {
    const translated = await translateTaskEvent(
      { source: 'aws.ecs', 'detail-type': 'ECS Service Action', detail: {} },
      context,
    );
    expect(translated).toMatchObject({ kind: 'ignored', reason: 'malformed_event' });
  });
});
