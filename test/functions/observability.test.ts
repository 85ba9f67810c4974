import { ECSClient, ListTasksCommand } from '@aws-sdk/client-ecs';
import { EFSClient } from '@aws-sdk/client-efs';
import { mockClient } from 'aws-sdk-client-mock';
import type { LambdaEvent } from 'hono/aws-lambda';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createTestTable } from '../support/dynamo.js';
import { httpApiEvent, lambdaContext } from './events.js';
import { acceptRunTask, acceptVolumeCreation, coldStart, functionEnv } from './harness.js';

const ecsMock = mockClient(ECSClient);
const efsMock = mockClient(EFSClient);

interface Emf {
  readonly _aws: { CloudWatchMetrics: { Namespace: string; Metrics: { Name: string }[] }[] };
  readonly [key: string]: unknown;
}

afterEach(() => {
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
});

describe('api function metrics', () => {
  it('emits EMF for creates by result, launches and the cold start', async () => {
    const { tableName } = await createTestTable();
    coldStart(
      functionEnv(tableName, {
        POWERTOOLS_METRICS_DISABLED: 'false',
        AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
      }),
    );
    const { handler } = await import('../../functions/api.js');
    ecsMock.reset();
    efsMock.reset();
    acceptVolumeCreation(ecsMock, efsMock);
    acceptRunTask(ecsMock, 'PENDING');
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);

    const event = httpApiEvent({
      method: 'PUT',
      path: `/v1/chats/${crypto.randomUUID()}/sandbox`,
      body: { agentId: 'a1' },
    });
    const result = await handler(event as unknown as LambdaEvent, lambdaContext('sandbox-api'));
    expect(result.statusCode).toBe(201);

    const emf = log.mock.calls
      .map((args) => String(args[0]))
      .filter((line) => line.includes('CloudWatchMetrics'))
      .map((line) => JSON.parse(line) as Emf);
    const named = (name: string) =>
      emf.find((entry) => entry._aws.CloudWatchMetrics[0]!.Metrics.some((metric) => metric.Name === name));
    expect(named('GetOrCreate')).toMatchObject({ result: 'created', GetOrCreate: 1, service: 'sandbox-api' });
    expect(named('LaunchFailures')).toBeUndefined();
    expect(named('Launches')).toMatchObject({ Launches: 1 });
    expect(named('ColdStart')).toBeDefined();
    expect(emf[0]!._aws.CloudWatchMetrics[0]!.Namespace).toBe('AgentSandbox');
  });
});

describe('reconciler function metrics', () => {
  /** Names of the metrics one reconciler run emitted. */
  async function metricsOfOneRun(): Promise<string[]> {
    const { handler } = await import('../../functions/reconciler.js');
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    await handler({}, lambdaContext('sandbox-reconciler', 55_000));
    return log.mock.calls
      .map((args) => String(args[0]))
      .filter((line) => line.includes('CloudWatchMetrics'))
      .flatMap((line) =>
        (JSON.parse(line) as Emf)._aws.CloudWatchMetrics[0]!.Metrics.map((metric) => metric.Name),
      );
  }

  it('publishes no zero counters on an idle pass, only the active sandbox gauge', async () => {
    const { tableName } = await createTestTable();
    coldStart(functionEnv(tableName, { POWERTOOLS_METRICS_DISABLED: 'false' }));
    ecsMock.reset();
    ecsMock.on(ListTasksCommand).resolves({ taskArns: [] });
    const names = await metricsOfOneRun();
    expect(names.filter((name) => name !== 'ColdStart')).toEqual(['ActiveSandboxes']);
  });
});
