/**
 * `npm run limits`: shows or sets a tenant's live-sandbox limits in the session table. It writes the
 * table directly with the operator's own access (AWS credentials of the default chain, or the local
 * data folder), never through the API: a tenant cannot raise its own limits.
 *
 *   npm run limits -- --tenant <tenant> [--max-live N] [--max-live-per-owner N] [--clear]
 *                     (--table <name> [--region <region>] | --data-dir <folder>)
 *
 * Without --max-live, --max-live-per-owner or --clear it shows the tenant's limits and live counts.
 */
import { parseArgs } from 'node:util';
import { createDynamoClient, localDynamoClient } from '../adapters/dynamodb/client.js';
import { DynamoQuotaStore } from '../adapters/dynamodb/quota-store.js';
import { TENANT_PATTERN } from '../core/model.js';
import { MAX_LIVE_LIMIT, type TenantLimits } from '../core/quota-ports.js';
import { tenantScope } from '../core/quotas.js';
import { lockDataDir } from '../local/data-dir-lock.js';
import { dynamoCredentialsOf } from '../local/data-dir-secrets.js';
import { runningEndpoint, startLocalDynamo } from '../local/dynamodb-local.js';
import { StartupError } from '../local/startup-error.js';

const USAGE =
  'usage: npm run limits -- --tenant <tenant> [--max-live N] [--max-live-per-owner N] [--clear] ' +
  '(--table <name> [--region <region>] | --data-dir <folder>)';

interface Options {
  readonly tenant: string;
  readonly change: TenantLimits | null | undefined;
  readonly table: string;
  readonly target:
    | { readonly kind: 'aws'; readonly region?: string }
    | { readonly kind: 'local'; readonly dataDir: string };
}

function positive(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1 || value > MAX_LIVE_LIMIT)
    throw new StartupError(`--${name} must be a whole number from 1 to ${MAX_LIVE_LIMIT}`);
  return value;
}

/** Parses the command line; throws StartupError with the usage on a bad one. */
export function parseOptions(argv: readonly string[]): Options {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      tenant: { type: 'string' },
      'max-live': { type: 'string' },
      'max-live-per-owner': { type: 'string' },
      clear: { type: 'boolean' },
      table: { type: 'string' },
      region: { type: 'string' },
      'data-dir': { type: 'string' },
    },
    strict: true,
  });
  const tenant = values.tenant;
  if (!tenant || !TENANT_PATTERN.test(tenant))
    throw new StartupError(`--tenant is required (1-256 of [A-Za-z0-9._:/@+=,-])\n${USAGE}`);
  if (Boolean(values.table) === Boolean(values['data-dir']))
    throw new StartupError(`give --table or --data-dir\n${USAGE}`);
  const maxLive = positive('max-live', values['max-live']);
  const maxPerOwner = positive('max-live-per-owner', values['max-live-per-owner']);
  if (values.clear && (maxLive !== undefined || maxPerOwner !== undefined))
    throw new StartupError(`--clear goes alone\n${USAGE}`);
  const change = values.clear
    ? null
    : maxLive === undefined && maxPerOwner === undefined
      ? undefined
      : {
          ...(maxLive === undefined ? {} : { maxLiveSandboxes: maxLive }),
          ...(maxPerOwner === undefined ? {} : { maxLivePerOwner: maxPerOwner }),
        };
  return {
    tenant,
    change,
    table: values.table ?? process.env.SANDBOX_TABLE_NAME ?? 'sandbox-sessions',
    target: values['data-dir']
      ? { kind: 'local', dataDir: values['data-dir'] }
      : { kind: 'aws', ...(values.region ? { region: values.region } : {}) },
  };
}

/** Runs the command against `quotas`; answers what it prints. */
export async function runLimits(quotas: DynamoQuotaStore, options: Options): Promise<string> {
  if (options.change !== undefined) {
    const current =
      options.change === null ? null : { ...(await quotas.limits(options.tenant)), ...options.change };
    await quotas.setLimits(options.tenant, current);
  }
  const limits = await quotas.limits(options.tenant);
  const live = await quotas.count(tenantScope(options.tenant));
  return JSON.stringify(
    { tenant: options.tenant, limits: limits ?? 'defaults', liveSandboxes: live },
    null,
    2,
  );
}

/** The command: parse, open the table, run, print. */
export async function main(argv: readonly string[]): Promise<void> {
  const options = parseOptions(argv);
  if (options.target.kind === 'aws') {
    const client = createDynamoClient({ region: options.target.region });
    try {
      process.stdout.write(`${await runLimits(new DynamoQuotaStore(client, options.table), options)}\n`);
    } finally {
      client.destroy();
    }
    return;
  }
  // Local: the running control plane's DynamoDB Local, or one started for this command.
  const { dataDir } = options.target;
  const credentials = dynamoCredentialsOf(dataDir);
  const running = await runningEndpoint(dataDir, credentials);
  const lock = running ? null : lockDataDir(dataDir);
  const dynamo = running ? null : await startLocalDynamo({ dataDir: `${dataDir}/dynamodb`, credentials });
  const client = localDynamoClient(running ?? dynamo!.endpoint, credentials);
  try {
    process.stdout.write(`${await runLimits(new DynamoQuotaStore(client, options.table), options)}\n`);
  } finally {
    client.destroy();
    await dynamo?.stop();
    lock?.release();
  }
}
