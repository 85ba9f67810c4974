import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { hasEnvEntry, isAlive } from '../../src/adapters/local/host-processes.js';
import {
  DATA_DIR_MARKER,
  LocalProcessRuntime,
  type LocalProfile,
} from '../../src/adapters/local/local-runtime.js';
import { LaunchError } from '../../src/core/errors.js';
import type { LaunchSpec, RuntimeEvent } from '../../src/core/ports.js';
import { EXAMPLE_AGENT_PATH } from '../../src/local/config.js';
import { silentLogger } from '../support/fakes.js';

const spec = (sessionId: string, overrides: Partial<LaunchSpec> = {}): LaunchSpec => ({
  tenant: 'local',
  chatId: 'aaaaaaaa-0000-4000-8000-000000000001',
  sessionId,
  agentId: 'agent-alpha',
  profile: 'default',
  env: { GREETING: 'hello' },
  ...overrides,
});

/** Resolves with the first event of a kind for a session. */
function eventually(
  events: RuntimeEvent[],
  kind: RuntimeEvent['kind'],
  sessionId: string,
  timeoutMs = 10_000,
) {
  return new Promise<RuntimeEvent>((resolve, reject) => {
    const started = Date.now();
    const timer = setInterval(() => {
      const found = events.find((event) => event.kind === kind && event.sessionId === sessionId);
      if (found) {
        clearInterval(timer);
        resolve(found);
      } else if (Date.now() - started > timeoutMs) {
        clearInterval(timer);
        reject(new Error(`no ${kind} event for ${sessionId}`));
      }
    }, 20);
  });
}

describe('LocalProcessRuntime', () => {
  let dataDir: string;
  let events: RuntimeEvent[];
  let runtime: LocalProcessRuntime;
  const make = (
    profiles: Record<string, LocalProfile> = { default: { command: [process.execPath, EXAMPLE_AGENT_PATH] } },
  ) =>
    new LocalProcessRuntime({
      dataDir,
      profiles,
      logger: silentLogger,
      onEvent: async (event) => {
        events.push(event);
      },
      stopGraceMs: 1_000,
    });

  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'sandbox-runtime-'));
    events = [];
    runtime = make();
  });

  afterEach(async () => {
    for (const task of (await runtime.inventory()).tasks) await runtime.stop(task.ref);
    await runtime.allExited();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('runs the example agent with its identity and the chat directory, and reports it running', async () => {
    const { ref } = await runtime.launch(spec('s1'));
    const running = await eventually(events, 'running', 's1');
    expect(running.kind === 'running' && running.endpoint.host).toBe('127.0.0.1');
    expect(await runtime.describe(ref)).toEqual({
      status: 'running',
      endpoint: running.kind === 'running' ? running.endpoint : null,
    });
    const { port } = running.kind === 'running' ? running.endpoint : { port: 0 };
    const answer = await (await fetch(`http://127.0.0.1:${port}/`)).json();
    expect(answer).toMatchObject({ chatId: spec('s1').chatId, sessionId: 's1', agentId: 'agent-alpha' });
    const chatDir = join(dataDir, 'chats', 'local', spec('s1').chatId);
    expect(readFileSync(join(chatDir, '.sessions'), 'utf8')).toBe('s1\n');
    // The example agent keeps the chat's history.md in the chat directory.
    await fetch(`http://127.0.0.1:${port}/history`, {
      method: 'POST',
      body: 'The user asked for a summary.',
    });
    expect(await (await fetch(`http://127.0.0.1:${port}/history`)).text()).toContain(
      'The user asked for a summary.',
    );
    expect(readFileSync(join(chatDir, 'history.md'), 'utf8')).toMatch(
      /^\n## .+ \(s1\)\n\nThe user asked for a summary\.\n$/,
    );
    expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(200);
  });

  it('reports a sandbox with a health check running only once the check passes', async () => {
    // An agent whose /health answers 503 for its first 400 ms.
    const agent = join(dataDir, 'slow-agent.mjs');
    writeFileSync(
      agent,
      `import { createServer } from 'node:http';
const started = Date.now();
createServer((request, response) => {
  if (request.url === '/health') response.writeHead(Date.now() - started > 400 ? 200 : 503).end();
  else response.writeHead(200).end('ok');
}).listen(Number(process.env.PORT), process.env.HOST);`,
    );
    runtime = make({ web: { command: [process.execPath, agent], healthCheck: { path: '/health' } } });
    const { ref } = await runtime.launch(spec('h1', { profile: 'web' }));
    expect(await runtime.describe(ref)).toEqual({ status: 'pending' });
    const running = await eventually(events, 'running', 'h1');
    expect(running).toMatchObject({ kind: 'running', health: 'healthy' });
    expect(await runtime.describe(ref)).toMatchObject({ status: 'running', health: 'healthy' });
    const { port } = running.kind === 'running' ? running.endpoint : { port: 0 };
    expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(200);
  });

  it('reports a sandbox whose check keeps failing as running but unhealthy, and never as ready', async () => {
    runtime = make({
      broken: {
        command: [process.execPath, EXAMPLE_AGENT_PATH],
        healthCheck: { command: [process.execPath, '-e', 'process.exit(1)'], intervalSeconds: 5, retries: 1 },
      },
    });
    const { ref } = await runtime.launch(spec('h2', { profile: 'broken' }));
    await vi.waitFor(
      async () =>
        expect(await runtime.describe(ref)).toMatchObject({ status: 'running', health: 'unhealthy' }),
      { timeout: 5_000 },
    );
    expect(events.filter((event) => event.kind === 'running')).toEqual([]);
  });

  it('is idempotent per session id', async () => {
    const first = await runtime.launch(spec('s1'));
    const second = await runtime.launch(spec('s1'));
    expect(second).toEqual(first);
    expect((await runtime.inventory()).tasks).toHaveLength(1);
  });

  it('stops with SIGTERM, reports it stopped, and lists it no more', async () => {
    const { ref } = await runtime.launch(spec('s1'));
    await eventually(events, 'running', 's1');
    await runtime.stop(ref);
    const stopped = await eventually(events, 'stopped', 's1');
    expect(stopped.kind === 'stopped' && stopped.reason).toMatch(/exited/);
    expect((await runtime.inventory()).tasks).toEqual([]);
    expect((await runtime.describe(ref)).status).toBe('stopped');
  });

  it('kills a process that ignores SIGTERM after the grace', async () => {
    runtime = make({
      default: {
        command: ['/bin/sh', '-c', 'trap "" TERM; touch "$CHAT_DIR/trapped"; while true; do sleep 0.1; done'],
      },
    });
    const { ref } = await runtime.launch(spec('stubborn'));
    // Stop only once the shell ignores SIGTERM, however slowly it starts.
    const marker = join(dataDir, 'chats', 'local', spec('stubborn').chatId, 'trapped');
    await vi.waitFor(() => expect(existsSync(marker)).toBe(true), { timeout: 5_000 });
    await runtime.stop(ref);
    const stopped = await eventually(events, 'stopped', 'stubborn', 5_000);
    expect(stopped.kind === 'stopped' && stopped.reason).toBe('exited on SIGKILL');
  });

  it('keeps the chat directory across sandboxes of the same chat', async () => {
    const first = await runtime.launch(spec('s1'));
    await eventually(events, 'running', 's1');
    await runtime.stop(first.ref);
    await eventually(events, 'stopped', 's1');
    await runtime.launch(spec('s2'));
    const running = await eventually(events, 'running', 's2');
    const port = running.kind === 'running' ? running.endpoint.port : 0;
    const answer = (await (await fetch(`http://127.0.0.1:${port}/`)).json()) as { sessions: string[] };
    expect(answer.sessions).toEqual(['s1', 's2']);
  });

  it('fails a launch whose command cannot start', async () => {
    runtime = make({ default: { command: ['/nonexistent/agent'] } });
    await expect(runtime.launch(spec('s1'))).rejects.toBeInstanceOf(LaunchError);
    await expect(runtime.launch(spec('s2', { profile: 'missing' }))).rejects.toBeInstanceOf(LaunchError);
  });

  it('reports a process that exits on its own as stopped', async () => {
    runtime = make({ default: { command: ['/bin/sh', '-c', 'exit 3'] } });
    await runtime.launch(spec('s1'));
    const stopped = await eventually(events, 'stopped', 's1');
    expect(stopped.kind === 'stopped' && stopped.reason).toBe('exited with code 3');
  });

  it('passes only its own environment and the request env to the sandbox', async () => {
    runtime = make({ default: { command: ['/bin/sh', '-c', 'env > "$CHAT_DIR/env.txt"'] } });
    process.env.SANDBOX_API_TOKEN_FOR_TEST = 'must-not-leak';
    try {
      await runtime.launch(spec('s1'));
      await eventually(events, 'stopped', 's1');
    } finally {
      delete process.env.SANDBOX_API_TOKEN_FOR_TEST;
    }
    const env = readFileSync(join(dataDir, 'chats', 'local', spec('s1').chatId, 'env.txt'), 'utf8');
    expect(env).toContain('GREETING=hello');
    expect(env).toContain('SESSION_ID=s1');
    expect(env).toContain(`DEPENDENCIES_DIR=${join(dataDir, 'dependencies')}`);
    expect(env).not.toContain('must-not-leak');
  });

  it('adopts a live sandbox a previous runtime left behind', async () => {
    const { ref } = await runtime.launch(spec('s1'));
    await eventually(events, 'running', 's1');
    const before = events.length;
    const successor = make();
    expect((await successor.inventory()).tasks.map((task) => task.sessionId)).toEqual(['s1']);
    // Reported running again once its port answers, as a fresh launch is.
    await vi.waitFor(() => expect(events.slice(before).map((event) => event.kind)).toContain('running'));
    expect((await successor.describe(ref)).status).toBe('running');
    await successor.stop(ref);
    await eventually(events, 'stopped', 's1');
    await successor.allExited();
  });

  it('finds a sandbox whose pid was never recorded, by the marker in its environment', async () => {
    const { ref } = await runtime.launch(spec('s1'));
    await eventually(events, 'running', 's1');
    // As after a crash between the spawn and the record step: the intent is there, the pid is not.
    const file = join(dataDir, 'runtime', 's1.json');
    writeFileSync(file, JSON.stringify({ ...JSON.parse(readFileSync(file, 'utf8')), pid: null }));
    const successor = make();
    expect((await successor.inventory()).tasks.map((task) => task.sessionId)).toEqual(['s1']);
    expect(JSON.parse(readFileSync(file, 'utf8')).pid).toBeGreaterThan(0);
    await successor.stop(ref);
    await successor.allExited();
  });

  it('stops every process of the folder that no session can own, and keeps one group per session', async () => {
    await runtime.launch(spec('s1'));
    await eventually(events, 'running', 's1');
    const marker = { PATH: process.env.PATH ?? '', [DATA_DIR_MARKER]: dataDir };
    // A second process group claiming the same session, and one whose session has no record.
    const twin = spawn('sleep', ['60'], {
      detached: true,
      stdio: 'ignore',
      env: { ...marker, SESSION_ID: 's1' },
    });
    const stray = spawn('sleep', ['60'], {
      detached: true,
      stdio: 'ignore',
      env: { ...marker, SESSION_ID: 'gone' },
    });
    try {
      // Until exec, a child's /proc environment is still its parent's.
      await vi.waitFor(() => {
        for (const child of [twin, stray])
          expect(hasEnvEntry(child.pid!, DATA_DIR_MARKER, dataDir)).toBe(true);
      });
      const successor = make();
      expect((await successor.inventory()).tasks.map((task) => task.sessionId)).toEqual(['s1']);
      await vi.waitFor(() => {
        expect(isAlive(twin.pid!)).toBe(false);
        expect(isAlive(stray.pid!)).toBe(false);
      });
      expect((await successor.describe('local/s1')).status).not.toBe('stopped');
      await successor.stop('local/s1');
      await successor.allExited();
    } finally {
      for (const child of [twin, stray]) child.kill('SIGKILL');
    }
  });

  it.each([
    ['a reserved env name', spec('s1', { env: { NODE_OPTIONS: '--require=/tmp/x.js' } }), undefined],
    ['a NUL byte in an env value', spec('s1', { env: { GREETING: 'a\u0000b' } }), undefined],
    ['an env name outside the allow-list', spec('s1', { env: { OTHER: 'x' } }), ['APP_*']],
  ])(
    'refuses %s at spawn time, leaving no record, descriptor or process',
    async (_name, launchSpec, envAllow) => {
      runtime = make({
        default: { command: [process.execPath, EXAMPLE_AGENT_PATH], ...(envAllow ? { envAllow } : {}) },
      });
      const descriptors = readdirSync('/proc/self/fd').length;
      await expect(runtime.launch(launchSpec)).rejects.toBeInstanceOf(LaunchError);
      expect(readdirSync(join(dataDir, 'runtime'))).toEqual([]);
      expect(readdirSync('/proc/self/fd').length).toBe(descriptors);
      expect((await runtime.inventory()).tasks).toEqual([]);
    },
  );

  it('turns any exception of the spawn into a launch error, leaving nothing behind', async () => {
    runtime = make({ default: { command: [process.execPath, 'a\u0000b'] } });
    const descriptors = readdirSync('/proc/self/fd').length;
    await expect(runtime.launch(spec('s1'))).rejects.toBeInstanceOf(LaunchError);
    expect(readdirSync(join(dataDir, 'runtime'))).toEqual([]);
    expect(readdirSync('/proc/self/fd').length).toBe(descriptors);
  });
});
