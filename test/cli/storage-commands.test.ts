/**
 * `sandboxctl` storage commands as a user runs them (`node bin/sandboxctl.js ...`, bytes on stdout
 * read as bytes) against a real local control plane: upload, files, download, rm and history.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeError, exitCodeOf } from '../../src/cli/exit-codes.js';
import { main } from '../../src/cli/main.js';
import { apiErrorOf } from '../../src/client/errors.js';
import { startTestPlane, type TestPlane } from '../client/local-plane.js';

const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'sandboxctl.js');

interface Outcome {
  readonly code: number;
  readonly stdout: Buffer;
  readonly text: string;
  readonly stderr: string;
}

/** Runs the binary in `cwd` with only the environment given (plus PATH and HOME); never rejects. */
function sandboxctl(args: readonly string[], env: Record<string, string>, cwd = ROOT): Promise<Outcome> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      {
        cwd,
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
        encoding: 'buffer',
        timeout: 60_000,
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        resolve({ code, stdout, text: stdout.toString('utf8'), stderr: stderr.toString('utf8') });
      },
    );
  });
}

/** Every byte value, so a text decoding anywhere on the way would show. */
const EVERY_BYTE = Buffer.from(Array.from({ length: 256 }, (_, index) => index));

describe('sandboxctl storage commands', () => {
  let server: TestPlane;
  let env: Record<string, string>;
  let folder: string;
  const cli = (...args: string[]) => sandboxctl(args, env);

  beforeAll(async () => {
    server = await startTestPlane();
    env = { SANDBOX_API_URL: server.url, SANDBOX_API_TOKEN: server.token };
    folder = mkdtempSync(join(tmpdir(), 'sandboxctl-files-'));
  });
  afterAll(async () => {
    await server?.stop();
    if (folder) rmSync(folder, { recursive: true, force: true });
  });

  /** A chat with `attachments/data.bin` (every byte value) uploaded. */
  async function chatWithData(): Promise<{ chatId: string; local: string }> {
    const chatId = randomUUID();
    const local = join(folder, `${chatId}.bin`);
    writeFileSync(local, EVERY_BYTE);

    const uploaded = await cli('upload', chatId, local, '--path', 'attachments/data.bin', '--no-overwrite');
    expect(uploaded.stderr).toBe('');
    expect(uploaded.code).toBe(0);
    expect(uploaded.text).toMatch(/^created attachments\/data\.bin \(256 bytes, etag ".+"\)\n$/);
    return { chatId, local };
  }

  it('uploads a file and lists the files of the chat', async () => {
    const { chatId, local } = await chatWithData();
    const named = await cli('upload', chatId, local, '--json');
    const name = `${chatId}.bin`;
    expect(JSON.parse(named.text)).toMatchObject({ created: true, file: { path: name, size: 256 } });
    expect((await cli('upload', chatId, local)).text).toMatch(new RegExp(`^replaced ${name} `));

    const table = await cli('files', chatId);
    expect(table.code).toBe(0);
    const lines = table.text.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^PATH\s+SIZE\s+MODIFIED$/);
    expect(lines.some((line) => /^attachments\/data\.bin\s+256\s+\d{4}-\d\d-\d\dT[\d:]+Z$/.test(line))).toBe(
      true,
    );
    expect(lines.at(-1)).toMatch(/^total: \d+ bytes in the chat$/);
    const paged = await cli('files', chatId, '--limit', '1');
    expect(paged.text).toContain(`more: sandboxctl files ${chatId} --cursor `);
    const all = JSON.parse((await cli('files', chatId, '--all', '--limit', '1', '--json')).text) as {
      items: { path: string }[];
      totalBytes: number;
      nextCursor: string | null;
    };
    expect(all.items.map((item) => item.path)).toEqual(
      expect.arrayContaining(['attachments/data.bin', name]),
    );
    expect(all.nextCursor).toBeNull();
    expect(all.totalBytes).toBeGreaterThanOrEqual(512);
    const prefixed = await cli('files', chatId, '--prefix', 'attachments/', '--json');
    expect(
      (JSON.parse(prefixed.text) as { items: { path: string }[] }).items.map((item) => item.path),
    ).toEqual(['attachments/data.bin']);
  });

  it('downloads a file whole, a range of it, to stdout or a file, and removes it', async () => {
    const { chatId } = await chatWithData();
    const piped = await cli('download', chatId, 'attachments/data.bin');
    expect(piped.stderr).toBe('');
    expect(piped.stdout.equals(EVERY_BYTE)).toBe(true);
    const ranged = await cli('download', chatId, 'attachments/data.bin', '--range', '10-19', '--out', '-');
    expect(ranged.stdout.equals(EVERY_BYTE.subarray(10, 20))).toBe(true);
    const tail = await cli('download', chatId, 'attachments/data.bin', '--range=-6');
    expect(tail.stdout.equals(EVERY_BYTE.subarray(250))).toBe(true);

    const out = join(folder, 'copy.bin');
    const saved = await cli('download', chatId, 'attachments/data.bin', '--out', out);
    expect(saved.text).toMatch(/^saved attachments\/data\.bin to .+copy\.bin \(256 bytes, etag ".+"\)\n$/);
    expect(readFileSync(out).equals(EVERY_BYTE)).toBe(true);
    const again = await cli('download', chatId, 'attachments/data.bin', '--out', out, '--range', '0-0');
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/^error: usage: '.+copy\.bin' exists; --force overwrites it\n/);
    expect(readFileSync(out).equals(EVERY_BYTE)).toBe(true);
    const forced = await cli(
      'download',
      chatId,
      'attachments/data.bin',
      '--out',
      out,
      '--range',
      '0-0',
      '--force',
    );
    expect(forced.text).toMatch(/\(bytes 0-0 of 256, /);
    expect(readFileSync(out)).toEqual(Buffer.from([0]));

    const removed = await cli('rm', chatId, 'attachments/data.bin');
    expect(removed.text).toBe('deleted attachments/data.bin\n');
    expect((await cli('rm', chatId, 'attachments/data.bin', '--json')).text).toContain('"not_found"');
    const gone = await cli('download', chatId, 'attachments/data.bin');
    expect(gone.code).toBe(3);
    expect(gone.stdout).toHaveLength(0);
    expect(gone.stderr).toMatch(/^error: chat_file_not_found: .+\n/);
    expect((await cli('files', randomUUID())).code).toBe(3);
  });

  it('exits 1 with precondition_failed when --no-overwrite finds the file', async () => {
    const chatId = randomUUID();
    const local = join(folder, 'first.txt');
    writeFileSync(local, 'first\n');
    expect((await cli('upload', chatId, local, '--path', 'notes.txt')).code).toBe(0);
    writeFileSync(local, 'second\n');
    const refused = await cli('upload', chatId, local, '--path', 'notes.txt', '--no-overwrite');
    expect(refused.code).toBe(1);
    expect(refused.text).toBe('');
    expect(refused.stderr).toMatch(/^error: precondition_failed: 'notes\.txt' exists.*\n/);
    expect((await cli('download', chatId, 'notes.txt')).text).toBe('first\n');
  });

  it('prints, replaces and appends to the history', async () => {
    const chatId = randomUUID();
    const local = join(folder, 'history.md');
    writeFileSync(local, '# Chat\n');
    const set = await cli('history', chatId, '--set', local);
    expect(set.stderr).toBe('');
    expect(set.text).toBe('replaced history.md (7 bytes)\n');
    const appended = await cli('history', chatId, '--append', 'user: grüß dich\n', '--json');
    expect(JSON.parse(appended.text)).toMatchObject({ created: false, file: { path: 'history.md' } });
    const printed = await cli('history', chatId);
    expect(printed.code).toBe(0);
    expect(printed.text).toBe('# Chat\nuser: grüß dich\n');
    expect((await cli('history', randomUUID())).code).toBe(3);
  });

  it('on a terminal, download writes a file named after the path in the current folder', async () => {
    const chatId = randomUUID();
    const local = join(folder, 'report.txt');
    writeFileSync(local, 'the report\n');
    expect((await cli('upload', chatId, local, '--path', 'out/report.txt')).code).toBe(0);
    const cwd = mkdtempSync(join(folder, 'cwd-'));
    let written = '';
    let errors = '';
    const io = {
      stdout: { isTTY: true, write: (text: string | Uint8Array) => (written += String(text)) },
      stderr: { write: (text: string) => (errors += text) },
      env,
      cwd,
      signal: new AbortController().signal,
    };
    expect(await main(['download', chatId, 'out/report.txt'], io)).toBe(0);
    expect(errors).toBe('');
    expect(written).toMatch(/^saved out\/report\.txt to report\.txt \(11 bytes, /);
    expect(readFileSync(join(cwd, 'report.txt'), 'utf8')).toBe('the report\n');
    expect(await main(['download', chatId, 'out/report.txt'], io)).toBe(2);
    expect(errors).toMatch(/^error: usage: 'report\.txt' exists; --force overwrites it\n/);
  });

  it('exits 2 on usage errors without calling the API', async () => {
    const chatId = randomUUID();
    const local = join(folder, 'usage.txt');
    writeFileSync(local, 'x');
    /** `main` in this process against a port nothing listens on: an API call would exit 5. */
    const offline = async (args: string[]) => {
      let stdout = '';
      let stderr = '';
      const code = await main(args, {
        stdout: { write: (chunk: string | Uint8Array) => (stdout += String(chunk)) },
        stderr: { write: (text: string) => (stderr += text) },
        env: { SANDBOX_API_URL: 'http://127.0.0.1:9', SANDBOX_API_TOKEN: 'unused-token' },
        cwd: folder,
        signal: new AbortController().signal,
      });
      return { code, stdout, stderr };
    };
    const cases = [
      ['files', 'not-a-chat'],
      ['files', chatId, '--limit', '0'],
      ['upload', chatId],
      ['upload', chatId, 'missing.txt'],
      ['upload', chatId, local, '--path', 'history.md'],
      ['upload', chatId, local, '--owner', 'not an owner'],
      ['download', chatId, 'a//b.txt'],
      ['download', chatId, 'a.txt', '--range', '9-3'],
      ['download', chatId, 'a.txt', '--json'],
      ['rm', chatId],
      ['rm', chatId, 'a.txt', 'b.txt'],
      ['history', chatId, '--append', 'x', '--set', local],
      ['history', chatId, '--owner', 'alice'],
    ];
    for (const args of cases) {
      const outcome = await offline(args);
      expect(outcome.code, args.join(' ')).toBe(2);
      expect(outcome.stdout, args.join(' ')).toBe('');
      expect(outcome.stderr, args.join(' ')).toMatch(/^error: usage: /);
    }
    const outside = await offline(['upload', chatId, local, '--path', '../escape.txt']);
    expect(outside.code).toBe(2);
    expect(outside.stderr).toMatch(/^error: usage: --path: .*\.\./);
    const named = await offline(['download', chatId, '../escape.txt']);
    expect(named.stderr).toMatch(/^error: usage: <path>: .*\.\./);
    expect((await offline(['upload', chatId, 'missing.txt'])).stderr).toContain(
      "cannot read 'missing.txt': ENOENT",
    );
    // The same flags against nothing listening reach the network: the cases above did not.
    expect((await offline(['rm', chatId, 'a.txt'])).code).toBe(5);
  });

  it('names the bytes used and the limit of a storage quota refusal, and exits 1', () => {
    const detail = "The write would make owner 'alice' hold 7000 bytes, over the limit of 6000.";
    const error = apiErrorOf({
      status: 413,
      code: 'workspace_quota_exceeded',
      detail,
      problem: {
        type: 'urn:problem-type:agent-sandbox:workspace_quota_exceeded',
        title: 'Storage quota exceeded',
        status: 413,
        code: 'workspace_quota_exceeded',
        detail,
        quota: { limitBytes: 6000, usedBytes: 5000 },
      },
      retryAfterSeconds: null,
      requestId: null,
    });
    expect(describeError(error)).toBe(
      `error: workspace_quota_exceeded: ${detail}\n  quota: 5000 of 6000 bytes used\n`,
    );
    expect(exitCodeOf(error)).toBe(1);
  });
});
