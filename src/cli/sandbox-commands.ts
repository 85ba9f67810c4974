/** The request-and-answer commands: create, get, list, keepalive, delete, usage, health. */
import {
  type GetOrCreateRequest,
  type GetOrCreateResult,
  isApiError,
  MAX_WAIT_SECONDS,
  type Sandbox,
  SandboxEndedError,
  WaitTimeoutError,
} from '../client/index.js';
import { SANDBOX_STATUSES, type SandboxStatus } from '../core/model.js';
import { GetOrCreateBody, ListQuery, UsageQuery } from '../http/schemas.js';
import { chatIdOf, noPositionals, onePositional, schemaUsageError } from './args.js';
import type { Command, CommandRun } from './command.js';
import { EXIT } from './exit-codes.js';
import { healthSummary, sandboxSummary, sandboxTable, usageSummary } from './format.js';

const FLAG_OF_FIELD: Record<string, string> = {
  agentId: '--agent',
  profile: '--profile',
  ownerId: '--owner',
  idleTimeoutSeconds: '--idle',
  maxLifetimeSeconds: '--lifetime',
  env: '--env',
  metadata: '--meta',
  waitSeconds: '--wait',
  status: '--status',
  agent: '--agent',
  limit: '--limit',
  cursor: '--cursor',
  from: '--from',
  to: '--to',
};
const flagOf = (path: readonly PropertyKey[]) => {
  const [field, key] = path.map(String);
  const flag = FLAG_OF_FIELD[field ?? ''] ?? field ?? 'request';
  return key === undefined ? flag : `${flag} ${key}`;
};

/** Drops undefined members, so what is checked is what is sent. */
function defined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, member]) => member !== undefined)) as T;
}

const chatOf = (run: CommandRun, command: string) =>
  chatIdOf(command, onePositional(command, run.positionals, 'chatId'));
const signalOf = (run: CommandRun) => ({ signal: run.io.signal });

const create: Command = {
  name: 'create',
  summary: "Get or create a chat's sandbox (PUT .../sandbox)",
  usage:
    'create <chatId> --agent <id> [--profile <name>] [--owner <id>] [--idle <s>] [--lifetime <s>] [--env K=V]... [--meta K=V]... [--wait <s>]',
  help: `  --agent <id>       the agent to run (required)
  --profile <name>   the sandbox profile (default: the server's default)
  --owner <id>       the end user the sandbox is for
  --idle <s>         idle timeout in seconds (1-86400)
  --lifetime <s>     maximum lifetime in seconds (1-86400; applies when a sandbox is created)
  --env K=V          a variable for the sandbox process; repeat for more
  --meta K=V         a label kept with the sandbox; repeat for more
  --wait <s>         wait up to this long (0-3600) for it to run; exits 4 if it does not
Prints 'created' or 'reused' and the sandbox; --json prints {sandbox, created}.`,
  options: {
    agent: { type: 'string' },
    profile: { type: 'string' },
    owner: { type: 'string' },
    idle: { type: 'string' },
    lifetime: { type: 'string' },
    env: { type: 'string', multiple: true },
    meta: { type: 'string', multiple: true },
    wait: { type: 'string' },
  },
  async run(run) {
    const { flags, client } = run;
    const chatId = chatOf(run, 'create');
    const agentId = flags.string('agent');
    if (!agentId) throw flags.usage('--agent <id> is required');
    const wait = flags.integer('wait', 0, 3600);
    const request: GetOrCreateRequest = defined({
      agentId,
      profile: flags.string('profile'),
      ownerId: flags.string('owner'),
      idleTimeoutSeconds: flags.integer('idle', 1, 86_400),
      maxLifetimeSeconds: flags.integer('lifetime', 1, 86_400),
      env: flags.pairs('env'),
      metadata: flags.pairs('meta'),
      waitSeconds: wait === undefined ? undefined : Math.min(wait, MAX_WAIT_SECONDS),
    });
    const checked = GetOrCreateBody.safeParse(request);
    if (!checked.success) throw schemaUsageError('create', checked.error.issues, flagOf);

    const started = Date.now();
    let result: GetOrCreateResult;
    try {
      result = await client.getOrCreate(chatId, request, signalOf(run));
    } catch (error) {
      // The sandbox failed while the PUT waited for it.
      if (wait !== undefined && isApiError(error, 'launch_failed'))
        throw new SandboxEndedError(
          `chat ${chatId}: the sandbox could not be started`,
          null,
          Date.now() - started,
        );
      throw error;
    }
    if (wait !== undefined)
      result = { ...result, sandbox: await untilRunning(run, result.sandbox, wait, started) };
    if (run.json) run.out(JSON.stringify(result, null, 2));
    else run.out(`${result.created ? 'created' : 'reused'}\n${sandboxSummary(result.sandbox)}`);
    return EXIT.ok;
  },
};

/** The rest of `--wait` after the PUT's own wait. */
async function untilRunning(run: CommandRun, sandbox: Sandbox, waitSeconds: number, started: number) {
  if (sandbox.status === 'running') return sandbox;
  const elapsed = () => Date.now() - started;
  if (sandbox.status !== 'provisioning')
    throw new SandboxEndedError(`chat ${sandbox.chatId}: sandbox is ${sandbox.status}`, sandbox, elapsed());
  const timeoutMs = waitSeconds * 1000 - elapsed();
  if (timeoutMs <= 0)
    throw new WaitTimeoutError(
      `chat ${sandbox.chatId}: still provisioning after ${Math.round(elapsed() / 1000)}s`,
      sandbox,
      elapsed(),
    );
  return run.client.waitUntilRunning(sandbox.chatId, { timeoutMs, ...signalOf(run) });
}

const get: Command = {
  name: 'get',
  summary: "Show a chat's latest sandbox",
  usage: 'get <chatId> [--wait <s>]',
  help: `  --wait <s>   hold the answer up to this long (0-${MAX_WAIT_SECONDS}) while it is provisioning
Prints the sandbox; --json prints {sandbox}.`,
  options: { wait: { type: 'string' } },
  async run(run) {
    const chatId = chatOf(run, 'get');
    const waitSeconds = run.flags.integer('wait', 0, MAX_WAIT_SECONDS);
    const sandbox = await run.client.get(chatId, { ...defined({ waitSeconds }), ...signalOf(run) });
    run.out(run.json ? JSON.stringify({ sandbox }, null, 2) : sandboxSummary(sandbox));
    return EXIT.ok;
  },
};

const list: Command = {
  name: 'list',
  summary: "List the tenant's sandboxes, newest first",
  usage: 'list [--status s,s] [--agent <id>] [--owner <id>] [--limit N] [--cursor <c>] [--all]',
  help: `  --status s,s   only these statuses: ${SANDBOX_STATUSES.join(', ')}
  --agent <id>   only this agent's
  --owner <id>   only this owner's
  --limit N      page size (1-100, default 50)
  --cursor <c>   the page after a previous one (its next cursor)
  --all          every page
Prints a table; --json prints {items, nextCursor} (with --all, every item and nextCursor null).`,
  options: {
    status: { type: 'string' },
    agent: { type: 'string' },
    owner: { type: 'string' },
    limit: { type: 'string' },
    cursor: { type: 'string' },
    all: { type: 'boolean' },
  },
  async run(run) {
    const { flags, client } = run;
    noPositionals('list', run.positionals);
    const statusText = flags.string('status');
    const status = statusText?.split(',').map((entry) => entry.trim());
    const unknown = status?.find((entry) => !(SANDBOX_STATUSES as readonly string[]).includes(entry));
    if (unknown !== undefined)
      throw flags.usage(`--status takes a comma list of ${SANDBOX_STATUSES.join(', ')}; not '${unknown}'`);
    const query = defined({
      status: status as SandboxStatus[] | undefined,
      agentId: flags.string('agent'),
      ownerId: flags.string('owner'),
      limit: flags.integer('limit', 1, 100),
      cursor: flags.string('cursor'),
    });
    const checked = ListQuery.safeParse({ ...query, status: statusText });
    if (!checked.success) throw schemaUsageError('list', checked.error.issues, flagOf);

    if (flags.boolean('all')) {
      const items: Sandbox[] = [];
      for await (const sandbox of client.listAll(query, signalOf(run))) items.push(sandbox);
      run.out(run.json ? JSON.stringify({ items, nextCursor: null }, null, 2) : sandboxTable(items));
      return EXIT.ok;
    }
    const page = await client.list(query, signalOf(run));
    if (run.json) run.out(JSON.stringify(page, null, 2));
    else {
      run.out(sandboxTable(page.items));
      if (page.nextCursor) run.out(`more: sandboxctl list --cursor ${page.nextCursor} (or --all)`);
    }
    return EXIT.ok;
  },
};

const keepalive: Command = {
  name: 'keepalive',
  summary: "Push a live sandbox's idle expiry out",
  usage: 'keepalive <chatId> [--idle <s>]',
  help: `  --idle <s>   the new idle timeout in seconds (1-86400; default: the sandbox's own)
Prints the sandbox with its new expiry; --json prints {sandbox}.`,
  options: { idle: { type: 'string' } },
  async run(run) {
    const chatId = chatOf(run, 'keepalive');
    const idleTimeoutSeconds = run.flags.integer('idle', 1, 86_400);
    const sandbox = await run.client.keepalive(chatId, {
      ...defined({ idleTimeoutSeconds }),
      ...signalOf(run),
    });
    run.out(run.json ? JSON.stringify({ sandbox }, null, 2) : sandboxSummary(sandbox));
    return EXIT.ok;
  },
};

const remove: Command = {
  name: 'delete',
  summary: "Stop a chat's live sandbox (its storage stays)",
  usage: 'delete <chatId>',
  help: `Prints the stopping sandbox, or that none was live (also exit 0); --json prints {result, sandbox?}.`,
  options: {},
  async run(run) {
    const chatId = chatOf(run, 'delete');
    const result = await run.client.delete(chatId, signalOf(run));
    if (run.json) run.out(JSON.stringify(result, null, 2));
    else if (result.result === 'deleted' && result.sandbox)
      run.out(`deleted\n${sandboxSummary(result.sandbox)}`);
    else run.out(`not_found: chat ${chatId} has no live sandbox`);
    return EXIT.ok;
  },
};

const usage: Command = {
  name: 'usage',
  summary: 'Show live counts, limits and daily totals',
  usage: 'usage [--owner <id>] [--from YYYY-MM-DD] [--to YYYY-MM-DD]',
  help: `  --owner <id>   also this owner's live count and limit, and only their totals
  --from <day>   first day (UTC), default 6 days before --to
  --to <day>     last day (UTC), default today
Prints a summary and a table of days; --json prints the API's answer.`,
  options: { owner: { type: 'string' }, from: { type: 'string' }, to: { type: 'string' } },
  async run(run) {
    const { flags } = run;
    noPositionals('usage', run.positionals);
    const query = defined({
      ownerId: flags.string('owner'),
      from: flags.string('from'),
      to: flags.string('to'),
    });
    const checked = UsageQuery.safeParse(query);
    if (!checked.success) throw schemaUsageError('usage', checked.error.issues, flagOf);
    const answer = await run.client.usage(query, signalOf(run));
    run.out(run.json ? JSON.stringify(answer, null, 2) : usageSummary(answer));
    return EXIT.ok;
  },
};

const health: Command = {
  name: 'health',
  summary: 'Check that the API answers (and with --deep, its store)',
  usage: 'health [--deep]',
  help: `  --deep   also check the session store
Prints ok or degraded; exits 5 when degraded.`,
  options: { deep: { type: 'boolean' } },
  async run(run) {
    noPositionals('health', run.positionals);
    const answer = await run.client.health({ deep: run.flags.boolean('deep'), ...signalOf(run) });
    run.out(run.json ? JSON.stringify(answer, null, 2) : healthSummary(answer));
    return answer.status === 'ok' ? EXIT.ok : EXIT.unavailable;
  },
};

export const SANDBOX_COMMANDS: readonly Command[] = [create, get, list, keepalive, remove, usage, health];
