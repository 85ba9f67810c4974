/** Figure 1: DynamoDB calls per operation, counted at the SDK client. */
import { getOrCreate } from '../../src/core/get-or-create.js';
import { reconcile } from '../../src/core/reconcile.js';
import { onRuntimeEvent } from '../../src/core/runtime-events.js';
import { deleteSandbox, getSandbox, keepalive } from '../../src/core/sandbox-ops.js';
import { benchCore, newChatId } from '../support/core.js';
import { countCalls, createBenchTable } from '../support/dynamo.js';
import type { Figure, Row } from '../support/report.js';

interface Operation {
  readonly name: string;
  /** The most calls the design allows, where it sets one. */
  readonly goal: number | null;
  readonly run: () => Promise<unknown>;
}

/** Counts the calls of each core operation on one chat, in lifecycle order, against a fresh table. */
export const dynamodbCallsFigure: Figure = {
  id: 1,
  title: 'DynamoDB calls per operation',
  async run({ dynamo }) {
    const client = dynamo.client();
    try {
      const tableName = await createBenchTable(client, 'calls');
      const counter = countCalls(client);
      const { deps, runtime } = benchCore(client, tableName, 0);
      const key = { tenant: 'local', chatId: newChatId() };
      const request = { key, agentId: 'agent-bench', ownerId: 'owner-1' };
      const created = { sessionId: '', ref: '' };
      // The tenant's and the owner's capacity items exist and the tenant's limits are cached, as
      // for every create but a tenant's first.
      await getOrCreate(deps, {
        key: { tenant: 'local', chatId: newChatId() },
        agentId: 'agent-bench',
        ownerId: 'owner-1',
      });

      const operations: Operation[] = [
        {
          name: 'fresh create of a new chat, no owner',
          goal: 5,
          run: () =>
            getOrCreate(deps, { key: { tenant: 'local', chatId: newChatId() }, agentId: 'agent-bench' }),
        },
        {
          name: 'fresh create of a new chat naming its owner',
          goal: 7,
          run: async () => {
            const { session } = await getOrCreate(deps, request);
            created.sessionId = session.sessionId;
            created.ref = session.runtimeRef ?? '';
          },
        },
        {
          name: 'runtime event "running"',
          goal: null,
          run: () =>
            onRuntimeEvent(deps, {
              kind: 'running',
              ...key,
              sessionId: created.sessionId,
              ref: created.ref,
              endpoint: { host: '127.0.0.1', port: 9 },
            }),
        },
        {
          name: 'reuse naming the owner (get-or-create, live sandbox)',
          goal: 1,
          run: () => getOrCreate(deps, request),
        },
        { name: 'keepalive', goal: null, run: () => keepalive(deps, key) },
        { name: 'get', goal: null, run: () => getSandbox(deps, key) },
        { name: 'delete', goal: null, run: () => deleteSandbox(deps, key) },
        {
          name: 'create after delete (item stopping, owner known)',
          goal: 5,
          run: () => getOrCreate(deps, request),
        },
        {
          name: 'reconcile pass, nothing due, 1 live task',
          goal: null,
          run: () => reconcile(deps, { holder: 'bench' }),
        },
      ];

      const rows: Row[] = [];
      const data: Record<string, unknown>[] = [];
      for (const operation of operations) {
        counter.reset();
        const launchesBefore = runtime.launches;
        await operation.run();
        const calls = counter.names.length;
        const launches = runtime.launches - launchesBefore;
        const launchText = launches > 0 ? ` + ${launches} launch` : '';
        rows.push({
          measure: operation.name,
          value: `${calls} (${counter.summary()})${launchText}`,
          floor: operation.goal === null ? '' : `goal ≤ ${operation.goal}`,
          ratio: operation.goal === null ? '' : calls <= operation.goal ? 'met' : 'MISSED',
        });
        data.push({
          operation: operation.name,
          calls,
          commands: [...counter.names],
          launches,
          goal: operation.goal,
        });
      }
      return {
        status: 'measured',
        workload: 'one chat through its lifecycle via core, fresh table, launch fake (0 ms)',
        rows,
        data: { operations: data },
      };
    } finally {
      client.destroy();
    }
  },
};
