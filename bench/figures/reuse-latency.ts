/** Figure 2: reuse latency through the HTTP app against one raw conditional UpdateItem. */

import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { getOrCreate } from '../../src/core/get-or-create.js';
import { benchCore, newChatId, putSandbox } from '../support/core.js';
import { createBenchTable } from '../support/dynamo.js';
import type { Figure } from '../support/report.js';
import { distribution, ms, ratio, timed } from '../support/stats.js';

const CALLS = 2_000;
const WARMUP = 200;

/** One conditional UpdateItem on a live-looking item: the least a reuse can cost on this DynamoDB. */
function rawConditionalUpdate(client: DynamoDBClient, tableName: string, pk: string): () => Promise<unknown> {
  return () => {
    const now = Date.now();
    return client.send(
      new UpdateItemCommand({
        TableName: tableName,
        Key: { pk: { S: pk }, sk: { S: 'SANDBOX' } },
        UpdateExpression: 'SET lastActiveAt = :now, expiresAt = :expiresAt',
        ConditionExpression: '#status = :running AND expiresAt > :now',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':now': { N: `${now}` },
          ':expiresAt': { N: `${now + 900_000}` },
          ':running': { S: 'running' },
        },
        ReturnValues: 'ALL_NEW',
      }),
    );
  };
}

/**
 * Sequential get-or-create calls on one live sandbox, interleaved call by call with the same reuse
 * through core alone and with a raw conditional UpdateItem, so all three see the same machine load.
 */
export const reuseLatencyFigure: Figure = {
  id: 2,
  title: 'Reuse latency',
  async run({ dynamo, progress }) {
    const client = dynamo.client();
    const rawClient = dynamo.client();
    try {
      const tableName = await createBenchTable(client, 'reuse');
      const { app, deps } = benchCore(client, tableName, 0);
      const chatId = newChatId();
      const body = { agentId: 'agent-bench' };
      const first = await putSandbox(app, chatId, body);
      if (first.status !== 201) throw new Error(`first PUT answered ${first.status}`);

      const rawPk = `CHAT#local#${newChatId()}`;
      await rawClient.send(
        new PutItemCommand({
          TableName: tableName,
          Item: {
            pk: { S: rawPk },
            sk: { S: 'SANDBOX' },
            status: { S: 'running' },
            expiresAt: { N: `${Date.now() + 900_000}` },
          },
        }),
      );
      const raw = rawConditionalUpdate(rawClient, tableName, rawPk);
      const viaApp = async () => {
        const answer = await putSandbox(app, chatId, body);
        if (answer.status !== 200) throw new Error(`reuse PUT answered ${answer.status}`);
      };
      const viaCore = () => getOrCreate(deps, { key: { tenant: 'local', chatId }, agentId: body.agentId });

      for (let i = 0; i < WARMUP; i += 1) {
        await viaApp();
        await viaCore();
        await raw();
      }
      progress(`figure 2: ${CALLS} interleaved calls of each kind`);
      const samples = { app: [] as number[], core: [] as number[], raw: [] as number[] };
      for (let i = 0; i < CALLS; i += 1) {
        samples.app.push((await timed(viaApp)).ms);
        samples.core.push((await timed(viaCore)).ms);
        samples.raw.push((await timed(raw)).ms);
      }
      const appDist = distribution(samples.app);
      const coreDist = distribution(samples.core);
      const rawDist = distribution(samples.raw);
      return {
        status: 'measured',
        workload: `${CALLS} sequential reuses of one live sandbox (after ${WARMUP} warm-up), interleaved with core-only reuses and raw conditional UpdateItems`,
        rows: [
          {
            measure: 'PUT via app.request() p50',
            value: ms(appDist.p50),
            floor: ms(rawDist.p50),
            ratio: ratio(appDist.p50, rawDist.p50),
          },
          {
            measure: 'PUT via app.request() p99',
            value: ms(appDist.p99),
            floor: ms(rawDist.p99),
            ratio: ratio(appDist.p99, rawDist.p99),
          },
          {
            measure: 'core getOrCreate only p50',
            value: ms(coreDist.p50),
            floor: ms(rawDist.p50),
            ratio: ratio(coreDist.p50, rawDist.p50),
          },
          {
            measure: 'core getOrCreate only p99',
            value: ms(coreDist.p99),
            floor: ms(rawDist.p99),
            ratio: ratio(coreDist.p99, rawDist.p99),
          },
        ],
        data: { calls: CALLS, warmup: WARMUP, app: appDist, core: coreDist, rawUpdateItem: rawDist },
      };
    } finally {
      client.destroy();
      rawClient.destroy();
    }
  },
};
