/**
 * Soak check of local mode against hostile input: starts `src/local/main.ts` on a fresh data folder,
 * sends N generated hostile requests (default 10,000) over HTTP on loopback, a few at a time, and
 * reports the answers by status. Then it checks what the process holds: 5xx answers, open
 * descriptors against the count before the load, and sandbox processes against live sessions; and
 * after a clean stop, that no process of the folder is left.
 *
 *   npx tsx bench/hostile-load.ts [requests]
 *
 * Exits 1 if any check fails. Linux only (it reads /proc).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { listProcesses, waitUntilGone } from '../src/adapters/local/host-processes.js';
import { DATA_DIR_MARKER } from '../src/adapters/local/local-runtime.js';
import { leftoverPids } from '../src/local/dynamodb-local.js';
import {
  headerSet,
  headersOf,
  method,
  path,
  query,
  rawBody,
  uuid,
} from '../test/support/hostile-requests.js';

const total = Number(process.argv[2] ?? 10_000);
const CONCURRENCY = 8;
const dataDir = mkdtempSync(join(tmpdir(), 'sandbox-hostile-'));
const child = spawn(process.execPath, ['--import', 'tsx', 'src/local/main.ts'], {
  cwd: join(import.meta.dirname, '..'),
  stdio: ['ignore', 'pipe', 'inherit'],
  env: { ...process.env, PORT: '0', SANDBOX_DATA_DIR: dataDir },
});
let banner = '';
child.stdout?.on('data', (chunk: Buffer) => {
  banner += chunk.toString();
});
while (!/token: +\S+/.test(banner)) {
  if (child.exitCode !== null) throw new Error(`control plane exited: ${banner}`);
  await new Promise((resolve) => setTimeout(resolve, 50));
}
const url = /listening on (\S+)/.exec(banner)![1]!;
const token = /token: +(\S+)/.exec(banner)![1]!;
const descriptors = () => readdirSync(`/proc/${child.pid}/fd`).length;
const before = descriptors();

const request = fc.oneof(
  fc.tuple(uuid, rawBody, headerSet(`Bearer ${token}`)).map(([chatId, body, set]) => ({
    method: 'PUT',
    path: `/v1/chats/${chatId}/sandbox`,
    query: '',
    set,
    body,
  })),
  fc
    .tuple(method, path, query, headerSet(`Bearer ${token}`), fc.option(rawBody, { nil: undefined }))
    .map(([m, p, q, set, body]) => ({ method: m, path: p, query: q, set, body })),
);
const samples = fc.sample(request, total);
const statuses = new Map<number, number>();
const serverErrors: string[] = [];
let next = 0;
const started = Date.now();
await Promise.all(
  Array.from({ length: CONCURRENCY }, async () => {
    while (next < samples.length) {
      const sample = samples[next++]!;
      const headers = headersOf(sample.set);
      if (!headers) continue;
      headers.delete('host'); // fetch sets Host itself; the foreign-host case is covered in the tests
      const sendsBody = sample.body !== undefined && sample.method !== 'GET' && sample.method !== 'HEAD';
      try {
        const response = await fetch(`${url}${sample.path}${sample.query ? `?${sample.query}` : ''}`, {
          method: sample.method,
          headers,
          ...(sendsBody ? { body: sample.body } : {}),
        });
        const text = await response.text();
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
        if (response.status >= 500)
          serverErrors.push(`${sample.method} ${sample.path} -> ${response.status} ${text.slice(0, 200)}`);
      } catch (error) {
        // A request fetch itself refuses (a path it cannot build) is not an answer of the server.
        statuses.set(0, (statuses.get(0) ?? 0) + 1);
        if (child.exitCode !== null) throw error;
      }
    }
  }),
);
const seconds = (Date.now() - started) / 1000;
const after = descriptors();

const live = new Set<string>();
let cursor: string | null = null;
do {
  const params = new URLSearchParams({ status: 'provisioning,running', limit: '100' });
  if (cursor) params.set('cursor', cursor);
  const page = (await (
    await fetch(`${url}/v1/sandboxes?${params}`, { headers: { Authorization: `Bearer ${token}` } })
  ).json()) as { items: { sessionId: string }[]; nextCursor: string | null };
  for (const item of page.items) live.add(item.sessionId);
  cursor = page.nextCursor;
} while (cursor);
const sandboxes = listProcesses().filter((found) => found.env.get(DATA_DIR_MARKER) === dataDir);
const untracked = sandboxes.filter((found) => !live.has(found.env.get('SESSION_ID') ?? ''));

child.kill('SIGINT');
await waitUntilGone(child.pid!, 60_000);
const leftProcesses = listProcesses().filter((found) => found.env.get(DATA_DIR_MARKER) === dataDir).length;
const leftJvms = leftoverPids(join(dataDir, 'dynamodb')).length;
rmSync(dataDir, { recursive: true, force: true });

const report = {
  requests: samples.length,
  seconds,
  statuses: Object.fromEntries([...statuses].sort(([a], [b]) => a - b)),
  serverErrors: serverErrors.length,
  descriptors: { before, after, liveSandboxes: live.size },
  sandboxProcesses: sandboxes.length,
  untrackedSandboxProcesses: untracked.length,
  afterStop: { sandboxProcesses: leftProcesses, dynamoDbLocal: leftJvms },
};
console.log(JSON.stringify(report, null, 2));
for (const line of serverErrors.slice(0, 10)) console.log(line);
// Each live sandbox may hold a descriptor or two (its child handle and pipes); nothing else may grow.
const failed =
  serverErrors.length > 0 ||
  untracked.length > 0 ||
  leftProcesses > 0 ||
  leftJvms > 0 ||
  after > before + 4 * live.size + 8;
process.exit(failed ? 1 : 0);
