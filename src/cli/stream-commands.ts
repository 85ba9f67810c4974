/** The commands that watch: wait, logs (with --follow), events. */
import type { Sandbox } from '../client/index.js';
import { chatIdOf, noPositionals, onePositional, sinceOf } from './args.js';
import type { Command } from './command.js';
import { EXIT } from './exit-codes.js';
import { eventLine, logLine } from './format.js';

const DEFAULT_WAIT_SECONDS = 300;
/** Erases the terminal's current line. */
const CLEAR_LINE = '\r\x1b[2K';

const seconds = (ms: number) => `${Math.floor(ms / 1000)}s`;
const endpointOf = (sandbox: Sandbox) =>
  sandbox.endpoint ? ` at ${sandbox.endpoint.host}:${sandbox.endpoint.port}` : '';

const wait: Command = {
  name: 'wait',
  summary: 'Wait until a sandbox is running',
  usage: 'wait <chatId> [--timeout <s>]',
  help: `  --timeout <s>   give up after this long (1-86400, default ${DEFAULT_WAIT_SECONDS})
On a terminal, one line updates with the elapsed time and status; otherwise a plain line per answer.
Exits 0 once running, 4 when it ends failed or stopped or the time runs out; --json prints {sandbox}.`,
  options: { timeout: { type: 'string' } },
  async run(run) {
    const chatId = chatIdOf('wait', onePositional('wait', run.positionals, 'chatId'));
    const timeoutSeconds = run.flags.integer('timeout', 1, 86_400) ?? DEFAULT_WAIT_SECONDS;
    const live = !run.json && run.io.stdout.isTTY === true;
    const started = Date.now();
    let status = 'waiting';
    const draw = () =>
      run.io.stdout.write(`${CLEAR_LINE}${chatId}: ${status} ${seconds(Date.now() - started)}`);
    const ticker = live ? setInterval(draw, 1_000) : null;
    if (live) draw();
    let sandbox: Sandbox;
    try {
      sandbox = await run.client.waitUntilRunning(chatId, {
        timeoutMs: timeoutSeconds * 1000,
        signal: run.io.signal,
        onProgress: (progress) => {
          status = progress.sandbox.status;
          if (live) draw();
          else if (!run.json) run.out(`${chatId}: ${status} after ${seconds(progress.elapsedMs)}`);
        },
      });
    } finally {
      if (ticker) clearInterval(ticker);
      if (live) run.io.stdout.write(CLEAR_LINE);
    }
    if (run.json) run.out(JSON.stringify({ sandbox }, null, 2));
    else run.out(`${chatId}: running${endpointOf(sandbox)} after ${seconds(Date.now() - started)}`);
    return EXIT.ok;
  },
};

const logs: Command = {
  name: 'logs',
  summary: "Print a sandbox's output (and follow it)",
  usage: 'logs <chatId> [--tail N] [--since <time>] [--follow]',
  help: `  --tail N         the latest N lines (1-1000, default 100)
  --since <time>   only lines from then on: ISO 8601, or an age like 30s, 15m, 2h, 1d
  -f, --follow     keep printing new lines until the sandbox has ended (or Ctrl+C)
Prints '<time> <line>'; --json prints the API's page, or with --follow one {time, message} a line.`,
  options: {
    tail: { type: 'string' },
    since: { type: 'string' },
    follow: { type: 'boolean', short: 'f' },
  },
  async run(run) {
    const chatId = chatIdOf('logs', onePositional('logs', run.positionals, 'chatId'));
    const tail = run.flags.integer('tail', 1, 1000);
    const sinceText = run.flags.string('since');
    const since = sinceText === undefined ? undefined : sinceOf('logs', sinceText);
    const query = { ...(tail === undefined ? {} : { tail }), ...(since === undefined ? {} : { since }) };
    if (!run.flags.boolean('follow')) {
      const page = await run.client.logs(chatId, query, { signal: run.io.signal });
      if (run.json) run.out(JSON.stringify(page, null, 2));
      else for (const line of page.lines) run.out(logLine(line));
      return EXIT.ok;
    }
    for await (const line of run.client.followLogs(chatId, { ...query, signal: run.io.signal })) {
      run.out(run.json ? JSON.stringify(line) : logLine(line));
    }
    return EXIT.ok;
  },
};

const events: Command = {
  name: 'events',
  summary: "Stream the tenant's lifecycle events (local mode)",
  usage: 'events [--last-event-id <id>]',
  help: `  --last-event-id <id>   resume after this event (0 replays what the server holds)
Prints one line per event until Ctrl+C, reconnecting if the stream drops; --json prints one
{id, event, data} a line.`,
  options: { 'last-event-id': { type: 'string' } },
  async run(run) {
    noPositionals('events', run.positionals);
    const lastEventId = run.flags.string('last-event-id');
    if (lastEventId !== undefined && !/^\d{1,15}$/.test(lastEventId))
      throw run.flags.usage(`--last-event-id must be an event id (digits), not '${lastEventId}'`);
    const stream = run.client.events({ ...(lastEventId ? { lastEventId } : {}), signal: run.io.signal });
    for await (const message of stream) run.out(run.json ? JSON.stringify(message) : eventLine(message));
    return EXIT.ok;
  },
};

export const STREAM_COMMANDS: readonly Command[] = [wait, logs, events];
