/**
 * The command line: finding the command among the global flags, parsing with `node:util`'s
 * `parseArgs`, and turning flag text into checked values. Requests are checked with the API's own
 * schemas before they are sent, so a bad flag is a usage error (exit 2), not a round trip.
 */
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { ChatParams, canonicalChatId } from '../http/schemas.js';
import { UsageError } from './exit-codes.js';

export type OptionsConfig = NonNullable<ParseArgsConfig['options']>;
export type Values = Record<string, string | boolean | (string | boolean)[] | undefined>;

/** Flags every command takes. */
export const GLOBAL_OPTIONS = {
  url: { type: 'string' },
  token: { type: 'string' },
  sigv4: { type: 'boolean' },
  region: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
} as const satisfies OptionsConfig;

/** The command and the arguments around it: global flags may come before the command's name. */
export function splitCommand(argv: readonly string[]): { command: string | null; rest: string[] } {
  for (let index = 0; index < argv.length; index += 1) {
    const arg = argv[index]!;
    if (arg === '--') break;
    if (!arg.startsWith('-'))
      return { command: arg, rest: [...argv.slice(0, index), ...argv.slice(index + 1)] };
    const name = arg.replace(/^--?/, '');
    const option = (GLOBAL_OPTIONS as OptionsConfig)[name];
    if (option?.type === 'string' && !arg.includes('=')) index += 1;
  }
  return { command: null, rest: [...argv] };
}

/** Parses `args` with the global and the command's flags; a bad flag is a usage error of `command`. */
export function parseCommandLine(
  command: string | null,
  args: readonly string[],
  options: OptionsConfig,
): { values: Values; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({
      args: [...args],
      options: { ...GLOBAL_OPTIONS, ...options },
      allowPositionals: true,
      strict: true,
    });
    return { values: values as Values, positionals };
  } catch (error) {
    throw new UsageError(error instanceof Error ? firstLine(error.message) : String(error), command);
  }
}

/** The first sentence of `parseArgs`'s message: what was wrong, without its advice on `--`. */
function firstLine(text: string): string {
  return text.split('\n')[0]!.split('. ')[0]!;
}

/** Reads checked flag values of one command. */
export class Flags {
  constructor(
    readonly command: string,
    readonly values: Values,
  ) {}

  string(name: string): string | undefined {
    const value = this.values[name];
    return typeof value === 'string' ? value : undefined;
  }

  boolean(name: string): boolean {
    return this.values[name] === true;
  }

  strings(name: string): string[] {
    const value = this.values[name];
    if (value === undefined) return [];
    return (Array.isArray(value) ? value : [value]).filter(
      (entry): entry is string => typeof entry === 'string',
    );
  }

  /** A whole number from `min` to `max`. */
  integer(name: string, min: number, max: number): number | undefined {
    const text = this.string(name);
    if (text === undefined) return undefined;
    const value = Number(text);
    if (!/^\d+$/.test(text.trim()) || value < min || value > max)
      throw this.usage(`--${name} must be a whole number from ${min} to ${max}, not '${text}'`);
    return value;
  }

  /** `K=V` pairs of a repeated flag, as a record; a key given twice is a usage error. */
  pairs(name: string): Record<string, string> | undefined {
    const entries = this.strings(name);
    if (entries.length === 0) return undefined;
    const pairs: Record<string, string> = {};
    for (const entry of entries) {
      const equals = entry.indexOf('=');
      if (equals <= 0) throw this.usage(`--${name} takes KEY=VALUE, not '${entry}'`);
      const key = entry.slice(0, equals);
      if (Object.hasOwn(pairs, key)) throw this.usage(`--${name} ${key} is given twice`);
      pairs[key] = entry.slice(equals + 1);
    }
    return pairs;
  }

  usage(message: string): UsageError {
    return new UsageError(message, this.command);
  }
}

/** The one positional a command takes: exactly one, or a usage error naming it. */
export function onePositional(command: string, positionals: readonly string[], name: string): string {
  if (positionals.length === 0) throw new UsageError(`missing <${name}>`, command);
  if (positionals.length > 1)
    throw new UsageError(`unexpected argument '${positionals[1]}' (takes one <${name}>)`, command);
  return positionals[0]!;
}

/** Exactly the positionals `names` names, in order, or a usage error naming the first one missing. */
export function positionalsOf(
  command: string,
  positionals: readonly string[],
  names: readonly string[],
): string[] {
  const missing = names[positionals.length];
  if (missing !== undefined) throw new UsageError(`missing <${missing}>`, command);
  if (positionals.length > names.length)
    throw new UsageError(
      `unexpected argument '${positionals[names.length]}' (takes ${names.map((name) => `<${name}>`).join(' ')})`,
      command,
    );
  return [...positionals];
}

/** No positional at all. */
export function noPositionals(command: string, positionals: readonly string[]): void {
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`, command);
}

/** A chat id as the API accepts it (a UUID, hyphenated or 32 hex digits), in its canonical form. */
export function chatIdOf(command: string, text: string): string {
  if (!ChatParams.safeParse({ chatId: text }).success)
    throw new UsageError(`<chatId> must be a UUID (hyphenated or 32 hex digits), not '${text}'`, command);
  return canonicalChatId(text);
}

/** A time: ISO 8601, or an age like `30s`, `15m`, `2h`, `1d` counted back from now. */
export function sinceOf(command: string, text: string, now: number = Date.now()): string {
  const age = /^(\d+)(s|m|h|d)$/.exec(text);
  if (age) {
    const unit = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[age[2] as 's' | 'm' | 'h' | 'd'];
    return new Date(now - Number(age[1]) * unit).toISOString();
  }
  const at = /^\d{4}-\d{2}-\d{2}T/.test(text) ? Date.parse(text) : Number.NaN;
  if (Number.isNaN(at))
    throw new UsageError(`--since must be an ISO date-time or an age like 15m, not '${text}'`, command);
  return new Date(at).toISOString();
}

/**
 * The issues of a failed schema check as one usage error, each field named as its flag.
 * `flagOf` maps a body path (`agentId`, `env.FOO`) to the flag that set it.
 */
export function schemaUsageError(
  command: string,
  issues: readonly { path: readonly PropertyKey[]; message: string }[],
  flagOf: (path: readonly PropertyKey[]) => string,
): UsageError {
  const lines = issues.map((issue) => `${flagOf(issue.path)}: ${issue.message}`);
  return new UsageError(lines.join('; '), command);
}
