/**
 * The example agent (local mode's default profile) survives whatever a client sends it: bad paths,
 * missing files, oversized bodies, malformed HTTP. It answers each with an error and keeps serving.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/adapters/local/free-port.js';
import { EXAMPLE_AGENT_PATH } from '../../src/local/config.js';

let agent: ChildProcess;
let base: string;
let port: number;
const chatDir = mkdtempSync(join(tmpdir(), 'agent-chat-'));

beforeAll(async () => {
  port = await freePort();
  base = `http://127.0.0.1:${port}`;
  agent = spawn(process.execPath, [EXAMPLE_AGENT_PATH], {
    env: {
      PATH: process.env.PATH,
      HOST: '127.0.0.1',
      PORT: String(port),
      CHAT_DIR: chatDir,
      SESSION_ID: 's1',
    },
    stdio: 'ignore',
  });
  // Up once its health check answers (polled by hand: beforeAll has no expect.poll).
  for (let attempt = 0; attempt < 400; attempt += 1) {
    const status = await fetch(`${base}/health`).then(
      (r) => r.status,
      () => 0,
    );
    if (status === 200) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error('the example agent did not start');
});

afterAll(() => {
  agent.kill('SIGKILL');
  rmSync(chatDir, { recursive: true, force: true });
});

/** Writes raw bytes to the agent's port and waits for it to close the connection. */
function raw(bytes: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    socket.on('data', (chunk) => {
      answer += chunk.toString();
    });
    socket.on('error', () => resolve(answer));
    socket.on('close', () => resolve(answer));
    socket.end(bytes);
  });
}

describe('the example agent', () => {
  it('answers garbage with errors and keeps serving', async () => {
    expect((await fetch(`${base}/files/missing`)).status).toBe(404);
    expect((await fetch(`${base}/files/..%2f..%2fetc%2fpasswd`)).status).toBe(404);
    expect(
      (await fetch(`${base}/files/big`, { method: 'PUT', body: 'x'.repeat(1024 * 1024 + 1) })).status,
    ).toBe(413);
    expect((await fetch(`${base}/history`, { method: 'DELETE' })).status).toBe(404);
    await raw('GET /\u0000 HTTP/1.1\r\n\r\n');
    await raw('NOT-HTTP\r\n\r\n');
    await raw('GET //[::1 HTTP/1.1\r\nHost: x\r\n\r\n');
    await raw('POST /history HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nshort');
    expect(agent.exitCode).toBeNull();
    expect((await fetch(`${base}/health`)).status).toBe(200);
    const stored = await fetch(`${base}/files/note.txt`, { method: 'PUT', body: 'hello' });
    expect(stored.status).toBe(200);
    expect(await (await fetch(`${base}/files/note.txt`)).text()).toBe('hello');
  });
});
