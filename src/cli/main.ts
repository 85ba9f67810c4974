/**
 * `sandboxctl`: the control plane's API from a shell (docs/cli.md). `main` parses the command line,
 * runs one command with a `SandboxClient` and answers the exit code; bin/sandboxctl.js runs it with
 * the process's own streams.
 */
import { SandboxClient } from '../client/index.js';
import { VERSION } from '../version.js';
import { Flags, parseCommandLine, splitCommand } from './args.js';
import type { CliIo, Command } from './command.js';
import { connectionOf } from './connection.js';
import { describeError, EXIT, EXIT_CODES_HELP, exitCodeOf, isAbort, UsageError } from './exit-codes.js';
import { SANDBOX_COMMANDS } from './sandbox-commands.js';
import { STORAGE_COMMANDS } from './storage-commands.js';
import { STREAM_COMMANDS } from './stream-commands.js';

export const COMMANDS: readonly Command[] = [...SANDBOX_COMMANDS, ...STREAM_COMMANDS, ...STORAGE_COMMANDS];

const GLOBAL_HELP = `Global flags (any command):
  --url <url>         the API (env SANDBOX_API_URL; default http://127.0.0.1:8123)
  --token <token>     bearer token (env SANDBOX_API_TOKEN; for a loopback URL the default is
                      <SANDBOX_DATA_DIR or ./.data>/api-token, the token local mode writes)
  --sigv4             sign requests with SigV4 for API Gateway's IAM auth (env SANDBOX_API_AUTH=sigv4),
                      with credentials of the AWS default chain (AWS_PROFILE, env, SSO, ...)
  --region <region>   the region for --sigv4 (env AWS_REGION)
  --json              print the API's JSON (streams: one JSON object a line)
  -h, --help          help (of a command: sandboxctl <command> --help)
  --version           print the version`;

/** The top-level help: commands, global flags, exit codes. */
export function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((command) => command.name.length));
  const commands = COMMANDS.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`);
  return [
    'usage: sandboxctl <command> [flags]',
    '',
    'Commands:',
    ...commands,
    `  ${'help'.padEnd(width)}  Show the help of a command: sandboxctl help <command>`,
    '',
    GLOBAL_HELP,
    '',
    EXIT_CODES_HELP,
    '',
  ].join('\n');
}

/** One command's help: its synopsis, its flags, then the global ones. */
export function commandHelp(command: Command): string {
  return [
    `usage: sandboxctl ${command.usage}`,
    '',
    command.summary,
    '',
    command.help,
    '',
    GLOBAL_HELP,
    '',
    'Exit codes: 0 ok, 1 API error, 2 usage, 3 not found, 4 not running, 5 server or network (see sandboxctl --help)',
    '',
  ].join('\n');
}

function commandNamed(name: string): Command {
  const command = COMMANDS.find((candidate) => candidate.name === name);
  if (!command) throw new UsageError(`unknown command '${name}'`);
  return command;
}

/** Runs the command line `argv` (without node and the script); answers the exit code. */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  try {
    return await dispatch(argv, io);
  } catch (error) {
    if (isAbort(error) && io.signal.aborted) return EXIT.interrupted;
    io.stderr.write(describeError(error));
    return exitCodeOf(error);
  }
}

async function dispatch(argv: readonly string[], io: CliIo): Promise<number> {
  const { command: name, rest } = splitCommand(argv);
  if (name === null || name === 'help') {
    const { values, positionals } = parseCommandLine(null, rest, {});
    if (values.version) {
      io.stdout.write(`sandboxctl ${VERSION}\n`);
      return EXIT.ok;
    }
    if (name === 'help' && positionals.length > 0) {
      io.stdout.write(commandHelp(commandNamed(positionals[0]!)));
      return EXIT.ok;
    }
    if (name === 'help' || values.help) {
      io.stdout.write(mainHelp());
      return EXIT.ok;
    }
    io.stderr.write(mainHelp());
    return EXIT.usage;
  }
  const command = commandNamed(name);
  const { values, positionals } = parseCommandLine(command.name, rest, command.options);
  if (values.help) {
    io.stdout.write(commandHelp(command));
    return EXIT.ok;
  }
  if (values.version) {
    io.stdout.write(`sandboxctl ${VERSION}\n`);
    return EXIT.ok;
  }
  const flags = new Flags(command.name, values);
  const connection = connectionOf(flags, io.env, io.cwd);
  const client = new SandboxClient({
    baseUrl: connection.baseUrl,
    ...(connection.auth ? { auth: connection.auth } : {}),
  });
  return command.run({
    io,
    client,
    flags,
    positionals,
    json: flags.boolean('json'),
    out: (text) => io.stdout.write(`${text}\n`),
  });
}
