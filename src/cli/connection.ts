/**
 * Where `sandboxctl` sends requests and how it authenticates, from flags first, then the
 * environment: `--url`/`SANDBOX_API_URL`, `--token`/`SANDBOX_API_TOKEN` (for a loopback URL, the
 * local data folder's `api-token` when neither is set), `--sigv4`/`SANDBOX_API_AUTH=sigv4` with
 * `--region`/`AWS_REGION` for API Gateway.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { type ClientAuth, DEFAULT_BASE_URL } from '../client/index.js';
import type { Flags } from './args.js';
import { UsageError } from './exit-codes.js';

export interface Connection {
  readonly baseUrl: string;
  readonly auth: ClientAuth | undefined;
  /** Where the token came from, for messages: `--token`, `SANDBOX_API_TOKEN`, a file, or none. */
  readonly tokenSource: string | null;
}

/** The data folder's token file local mode writes (`<SANDBOX_DATA_DIR or .data>/api-token`). */
export function tokenFileOf(env: NodeJS.ProcessEnv, cwd: string): string {
  return resolve(cwd, env.SANDBOX_DATA_DIR || '.data', 'api-token');
}

/** Whether `url` names this machine: `localhost`, `127.0.0.0/8` or `::1`. */
export function isLoopback(url: URL): boolean {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** The connection the flags and the environment name; a bad combination is a usage error. */
export function connectionOf(flags: Flags, env: NodeJS.ProcessEnv, cwd: string): Connection {
  const text = flags.string('url') ?? (env.SANDBOX_API_URL || DEFAULT_BASE_URL);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`--url must be an http(s) URL, not '${text}'`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new UsageError(`--url must be an http(s) URL, not '${text}'`);

  const mode = env.SANDBOX_API_AUTH?.trim().toLowerCase();
  if (mode && mode !== 'sigv4' && mode !== 'token')
    throw new UsageError(`SANDBOX_API_AUTH must be 'token' or 'sigv4', not '${env.SANDBOX_API_AUTH}'`);
  const token = flags.string('token');
  if (flags.boolean('sigv4') || (mode === 'sigv4' && token === undefined)) {
    if (token !== undefined) throw new UsageError('give --token or --sigv4, not both');
    const region = flags.string('region') ?? (env.AWS_REGION || env.AWS_DEFAULT_REGION);
    if (!region) throw new UsageError('--sigv4 needs a region: --region or AWS_REGION');
    return { baseUrl: url.href, auth: { sigv4: { region } }, tokenSource: null };
  }

  if (token !== undefined) {
    if (!token.trim()) throw new UsageError('--token is empty');
    return { baseUrl: url.href, auth: { token: token.trim() }, tokenSource: '--token' };
  }
  if (env.SANDBOX_API_TOKEN?.trim())
    return {
      baseUrl: url.href,
      auth: { token: env.SANDBOX_API_TOKEN.trim() },
      tokenSource: 'SANDBOX_API_TOKEN',
    };
  const file = tokenFileOf(env, cwd);
  if (isLoopback(url) && existsSync(file)) {
    const fromFile = readFileSync(file, 'utf8').trim();
    if (fromFile) return { baseUrl: url.href, auth: { token: fromFile }, tokenSource: file };
  }
  return { baseUrl: url.href, auth: undefined, tokenSource: null };
}
