/**
 * Crash recovery of the real `npm start` process: `kill -9` with creates in flight, three rounds, then
 * every sandbox process of the data folder must belong to the live session of its chat (one process
 * group each), exactly one DynamoDB Local must serve the folder, and a clean stop leaves nothing.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { listProcesses, signalGroup, waitUntilGone } from '../../src/adapters/local/host-processes.js';
import { DATA_DIR_MARKER } from '../../src/adapters/local/local-runtime.js';
import { leftoverPids } from '../../src/local/dynamodb-local.js';

interface Started {
  readonly child: ChildProcess;
  readonly url: string;
  readonly token: string;
}

const PROJECT = join(import.meta.dirname, '../..');

/** Starts `src/local/main.ts` in its own process group and waits for its banner. */
async function startPlane(dataDir: string): Promise<Started> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/local/main.ts'], {
    cwd: PROJECT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PORT: '0', SANDBOX_DATA_DIR: dataDir, SANDBOX_RECONCILE_INTERVAL_SECONDS: '1' },
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  await vi.waitFor(
    () => {
      if (child.exitCode !== null) throw new Error(`control plane exited: ${output}`);
      expect(output).toMatch(/token: +\S+/);
    },
    { timeout: 60_000, interval: 50 },
  );
  const url = /listening on (\S+)/.exec(output)![1]!;
  const token = /token: +(\S+)/.exec(output)![1]!;
  return { child, url, token };
}

/** Sandbox process groups of the data folder, by session id. */
function sandboxGroups(dataDir: string): Map<string, Set<number>> {
  const groups = new Map<string, Set<number>>();
  for (const found of listProcesses()) {
    if (found.env.get(DATA_DIR_MARKER) !== dataDir) continue;
    const sessionId = found.env.get('SESSION_ID') ?? '?';
    groups.set(sessionId, (groups.get(sessionId) ?? new Set()).add(found.pgid));
  }
  return groups;
}

async function liveSessionIds(plane: Started): Promise<Set<string>> {
  const ids = new Set<string>();
  let cursor: string | null = null;
  do {
    const query = new URLSearchParams({ status: 'provisioning,running', limit: '100' });
    if (cursor) query.set('cursor', cursor);
    const page = (await (
      await fetch(`${plane.url}/v1/sandboxes?${query}`, {
        headers: { Authorization: `Bearer ${plane.token}` },
      })
    ).json()) as { items: { sessionId: string }[]; nextCursor: string | null };
    for (const item of page.items) ids.add(item.sessionId);
    cursor = page.nextCursor;
  } while (cursor);
  return ids;
}

/** Fires creates at the plane until it dies; answers how many were answered. */
async function createsInFlight(plane: Started, chats: readonly string[]): Promise<void> {
  await Promise.allSettled(
    chats.map((chatId) =>
      fetch(`${plane.url}/v1/chats/${chatId}/sandbox`, {
        method: 'PUT',
        headers: { Authorization: `Bearer ${plane.token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ agentId: 'agent-alpha' }),
      }),
    ),
  );
}

describe.skipIf(process.platform !== 'linux')('local control plane after kill -9', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'sandbox-crash-'));
  const started: Started[] = [];

  afterAll(async () => {
    for (const plane of started) signalGroup(plane.child.pid!, 'SIGKILL');
    for (const pgids of sandboxGroups(dataDir).values())
      for (const pgid of pgids) signalGroup(pgid, 'SIGKILL');
    for (const pid of leftoverPids(join(dataDir, 'dynamodb'))) process.kill(pid, 'SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('leaves no untracked sandbox and one DynamoDB Local after three crashes mid-create', {
    timeout: 240_000,
  }, async () => {
    for (const round of [0, 1, 2]) {
      const plane = await startPlane(dataDir);
      started.push(plane);
      const before = sandboxGroups(dataDir).size;
      const chats = Array.from({ length: 12 }, () => randomUUID());
      const creates = createsInFlight(plane, [...chats, ...chats.slice(0, 4)]);
      // Crash once some sandboxes run and others are still being created.
      await vi.waitFor(() => expect(sandboxGroups(dataDir).size).toBeGreaterThan(before + 2), {
        timeout: 20_000,
        interval: 10,
      });
      // Round 1 kills the whole group (DynamoDB Local with it); the others only the control plane.
      if (round === 1) signalGroup(plane.child.pid!, 'SIGKILL');
      else process.kill(plane.child.pid!, 'SIGKILL');
      await creates;
      await waitUntilGone(plane.child.pid!, 5_000);
    }

    const plane = await startPlane(dataDir);
    started.push(plane);
    expect(leftoverPids(join(dataDir, 'dynamodb'))).toHaveLength(1);
    await vi.waitFor(
      async () => {
        const live = await liveSessionIds(plane);
        for (const [sessionId, pgids] of sandboxGroups(dataDir)) {
          expect(live.has(sessionId), `process of session ${sessionId}, which is not live`).toBe(true);
          expect(pgids.size, `process groups of session ${sessionId}`).toBe(1);
        }
      },
      { timeout: 20_000, interval: 200 },
    );
    expect(leftoverPids(join(dataDir, 'dynamodb'))).toHaveLength(1);

    process.kill(plane.child.pid!, 'SIGINT');
    expect(await waitUntilGone(plane.child.pid!, 30_000)).toBe(true);
    await vi.waitFor(() => expect(sandboxGroups(dataDir).size).toBe(0), { timeout: 10_000 });
    expect(leftoverPids(join(dataDir, 'dynamodb'))).toEqual([]);
  });
});
