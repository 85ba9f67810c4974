/** What a `sandboxctl` command is: its flags, its help, and what it runs with. */
import type { SandboxClient } from '../client/index.js';
import type { Flags, OptionsConfig } from './args.js';

/** Where a command writes and what it reads; the process's own in bin/sandboxctl.js. */
export interface CliIo {
  /** Text, or bytes (`download` to stdout). */
  readonly stdout: { write(chunk: string | Uint8Array): unknown; readonly isTTY?: boolean };
  readonly stderr: { write(text: string): unknown };
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  /** Aborted on Ctrl+C. */
  readonly signal: AbortSignal;
}

/** One run of a command. */
export interface CommandRun {
  readonly io: CliIo;
  readonly client: SandboxClient;
  readonly flags: Flags;
  readonly positionals: readonly string[];
  /** `--json`: print the API's JSON instead of tables. */
  readonly json: boolean;
  /** Writes `text` and a newline to stdout. */
  out(text: string): void;
}

export interface Command {
  readonly name: string;
  /** One line for the command list. */
  readonly summary: string;
  /** The synopsis after `sandboxctl `. */
  readonly usage: string;
  /** Help lines of its own flags (and a word on what it prints). */
  readonly help: string;
  readonly options: OptionsConfig;
  /** Runs the command; answers the exit code. */
  run(run: CommandRun): Promise<number>;
}
