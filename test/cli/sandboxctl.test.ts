/**
 * `sandboxctl` as a user runs it: `node bin/sandboxctl.js ...` against a real local control plane,
 * configured through SANDBOX_API_URL and SANDBOX_API_TOKEN (or the data folder's token file).
 */
import { execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { startTestPlane, type TestPlane } from '../client/local-plane.js';
import { json, startStubServer } from '../client/stub-server.js';

const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'sandboxctl.js');

interface Outcome {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the binary with only the environment given (plus PATH and HOME); never rejects. */
function sandboxctl(args: readonly string[], env: Record<string, string>): Promise<Outcome> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      {
        cwd: ROOT,
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
        timeout: 60_000,
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

describe('sandboxctl', () => {
  let server: TestPlane;
  let env: Record<string, string>;
  const cli = (...args: string[]) => sandboxctl(args, env);

  beforeAll(async () => {
    // No SANDBOX_API_TOKEN: the plane writes its token to the data folder, as `npm start` does.
    server = await startTestPlane();
    env = { SANDBOX_API_URL: server.url, SANDBOX_API_TOKEN: server.token };
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('creates, shows, lists and deletes a sandbox, as JSON and for people', async () => {
    const chatId = randomUUID();
    const created = await cli(
      'create',
      chatId,
      '--agent',
      'agent-cli',
      '--profile',
      'chatty',
      '--meta',
      'team=search',
      '--env',
      'APP_MODE=test',
      '--wait',
      '20',
      '--json',
    );
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    const answer = JSON.parse(created.stdout) as {
      created: boolean;
      sandbox: { chatId: string; status: string };
    };
    expect(answer).toMatchObject({
      created: true,
      sandbox: { chatId, status: 'running', metadata: { team: 'search' } },
    });

    const shown = await cli('get', chatId);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain(chatId);
    expect(shown.stdout).toMatch(/status\s+running/);

    const listed = await cli('list', '--agent', 'agent-cli', '--json');
    expect(listed.code).toBe(0);
    expect(
      (JSON.parse(listed.stdout) as { items: { chatId: string }[] }).items.map((item) => item.chatId),
    ).toEqual([chatId]);
    const table = await cli('list', '--agent', 'agent-cli', '--status', 'running,provisioning');
    expect(table.stdout).toMatch(/^CHAT\s+STATUS\s+AGENT/);
    expect(table.stdout).toContain(chatId);

    const logs = await cli('logs', chatId, '--tail', '5');
    expect(logs.code).toBe(0);
    expect(logs.stdout).toContain(`hello ${chatId}`);

    const deleted = await cli('delete', chatId);
    expect(deleted.code).toBe(0);
    expect(deleted.stdout).toMatch(/^deleted\n/);
    expect(deleted.stdout).toContain(chatId);
    expect((await cli('delete', chatId, '--json')).stdout).toContain('"not_found"');
  });

  it('exits 3 with one error line when the chat has no sandbox', async () => {
    const missing = await cli('get', randomUUID());
    expect(missing.code).toBe(3);
    expect(missing.stdout).toBe('');
    expect(missing.stderr).toMatch(/^error: sandbox_not_found: .+\n/);
    expect(missing.stderr).not.toMatch(/\n\s+at /);
    expect((await cli('keepalive', randomUUID())).code).toBe(3);
  });

  it('exits 2 on usage errors without calling the API', async () => {
    const offline = { SANDBOX_API_URL: 'http://127.0.0.1:9', SANDBOX_API_TOKEN: 'unused-token' };
    const cases = [
      ['get', 'not-a-chat'],
      ['create', randomUUID()],
      ['create', randomUUID(), '--agent', 'a', '--idle', 'soon'],
      ['create', randomUUID(), '--agent', 'a', '--env', 'lower=1'],
      ['list', '--status', 'sleeping'],
      ['list', '--frobnicate'],
      ['logs', randomUUID(), '--tail', '5000'],
      ['frobnicate'],
    ];
    for (const args of cases) {
      const outcome = await sandboxctl(args, offline);
      expect(outcome.code, args.join(' ')).toBe(2);
      expect(outcome.stderr, args.join(' ')).toMatch(/^error: usage: /);
      expect(outcome.stderr).not.toMatch(/\n\s+at /);
    }
    const envError = await sandboxctl(['create', randomUUID(), '--agent', 'a', '--env', 'lower=1'], offline);
    expect(envError.stderr).toContain('--env lower');
  });

  it('exits 1 for a wrong token and 5 when nothing answers', async () => {
    const refused = await sandboxctl(['list'], {
      SANDBOX_API_URL: server.url,
      SANDBOX_API_TOKEN: 'wrong-token',
    });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^error: unauthorized: /);
    const offline = await sandboxctl(['health'], { SANDBOX_API_URL: 'http://127.0.0.1:9' });
    expect(offline.code).toBe(5);
    expect(offline.stderr).toMatch(/^error: network: /);
  });

  it('signs with SigV4 when asked, and needs a region for it', async () => {
    const gateway = await startStubServer();
    try {
      gateway.answer(json(200, { status: 'ok', version: '9.9.9' }));
      const signed = await sandboxctl(['health', '--sigv4', '--region', 'eu-west-1'], {
        SANDBOX_API_URL: `${gateway.url}/prod`,
        AWS_ACCESS_KEY_ID: 'AKIDCLI',
        AWS_SECRET_ACCESS_KEY: 'secret-of-the-cli-test',
      });
      expect(signed.stderr).toBe('');
      expect(signed.stdout).toContain('ok (version 9.9.9)');
      expect(gateway.requests[0]!.url).toBe('/prod/v1/health');
      expect(String(gateway.requests[0]!.headers.authorization)).toMatch(
        /^AWS4-HMAC-SHA256 Credential=AKIDCLI\/\d{8}\/eu-west-1\/execute-api\/aws4_request, /,
      );
    } finally {
      await gateway.close();
    }
    const regionless = await sandboxctl(['health'], { SANDBOX_API_AUTH: 'sigv4' });
    expect(regionless.code).toBe(2);
    expect(regionless.stderr).toMatch(/^error: usage: --sigv4 needs a region/);
  });

  it("reads the local data folder's token when none is given", async () => {
    const outcome = await sandboxctl(['list', '--json'], {
      SANDBOX_API_URL: server.url,
      SANDBOX_DATA_DIR: server.dataDir,
    });
    expect(outcome.stderr).toBe('');
    expect(outcome.code).toBe(0);
  });

  it('waits with plain lines when stdout is not a terminal, and exits 4 when the sandbox ends', async () => {
    const chatId = randomUUID();
    expect((await cli('create', chatId, '--agent', 'agent-wait', '--profile', 'chatty')).code).toBe(0);
    const waited = await cli('wait', chatId, '--timeout', '30');
    expect(waited.code).toBe(0);
    expect(waited.stdout).not.toContain('\r');
    expect(waited.stdout).not.toContain('\u001b');
    const lines = waited.stdout.trimEnd().split('\n');
    expect(lines.at(-1)).toMatch(new RegExp(`^${chatId}: running at 127\\.0\\.0\\.1:\\d+ after \\d+s$`));
    expect(lines.slice(0, -1).every((line) => line.startsWith(`${chatId}: `))).toBe(true);
    await cli('delete', chatId);

    const broken = randomUUID();
    const failed = await cli(
      'create',
      broken,
      '--agent',
      'agent-broken',
      '--profile',
      'broken',
      '--wait',
      '20',
    );
    expect(failed.code).toBe(4);
    expect(failed.stderr).toMatch(/^error: sandbox_ended: /);
  });

  it('on a terminal, wait keeps one line updated and clears it at the end', async () => {
    const chatId = randomUUID();
    expect((await cli('create', chatId, '--agent', 'agent-tty', '--profile', 'chatty')).code).toBe(0);
    let written = '';
    let errors = '';
    const code = await main(['wait', chatId, '--timeout', '30'], {
      stdout: { isTTY: true, write: (text: string) => (written += text) },
      stderr: { write: (text: string) => (errors += text) },
      env,
      cwd: ROOT,
      signal: new AbortController().signal,
    });
    expect(errors).toBe('');
    expect(code).toBe(0);
    const frames = written.split('\r\x1b[2K');
    expect(frames[0]).toBe('');
    expect(frames.slice(1, -1).every((frame) => new RegExp(`^${chatId}: \\w+ \\d+s$`).test(frame))).toBe(
      true,
    );
    expect(frames.at(-1)).toMatch(new RegExp(`^${chatId}: running at .+ after \\d+s\n$`));
    await cli('delete', chatId);
  });

  it('streams events until interrupted, then exits 0', async () => {
    // From the hub's start (id 0): what happens before the stream is open is not missed.
    const child = spawn(process.execPath, [BIN, 'events', '--json', '--last-event-id', '0'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    });
    try {
      let stdout = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        stdout += chunk;
      });
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      const chatId = randomUUID();
      expect(
        (await cli('create', chatId, '--agent', 'agent-events', '--profile', 'chatty', '--wait', '20')).code,
      ).toBe(0);
      const statuses = () =>
        stdout
          .split('\n')
          .filter((line) => line.includes(chatId))
          .map((line) => (JSON.parse(line) as { data: { detail: { status: string } } }).data.detail.status);
      await expect.poll(statuses, { timeout: 15_000 }).toEqual(['provisioning', 'running']);
      await cli('delete', chatId);
      child.kill('SIGINT');
      expect(await exited).toBe(0);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('prints help, the version and the exit codes', async () => {
    const help = await cli('--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Exit codes:');
    for (const command of [
      'create',
      'get',
      'list',
      'keepalive',
      'delete',
      'wait',
      'logs',
      'usage',
      'events',
      'health',
      'files',
      'upload',
      'download',
      'rm',
      'history',
    ])
      expect(help.stdout).toContain(`  ${command} `);
    const createHelp = await cli('create', '--help');
    expect(createHelp.stdout).toMatch(/^usage: sandboxctl create <chatId> --agent <id>/);
    expect((await cli('help', 'list')).stdout).toMatch(/^usage: sandboxctl list/);
    expect((await cli('--version')).stdout).toMatch(/^sandboxctl \d+\.\d+\.\d+\n$/);
    expect((await cli()).code).toBe(2);
  });

  it('shows usage and health', async () => {
    const usage = await cli('usage');
    expect(usage.code).toBe(0);
    expect(usage.stdout).toMatch(/^tenant: \d+ live of \d+/);
    const health = await cli('health', '--deep', '--json');
    expect(health.code).toBe(0);
    expect(JSON.parse(health.stdout)).toMatchObject({ status: 'ok', checks: { store: 'ok' } });
  });
});
