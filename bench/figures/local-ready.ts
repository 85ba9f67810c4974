/** Figure 6: local mode's time to ready, against starting the example agent process directly. */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../src/adapters/local/free-port.js';
import { EXAMPLE_AGENT_PATH, parseLocalConfig } from '../../src/local/config.js';
import { startLocalControlPlane } from '../../src/local/control-plane.js';
import { newChatId } from '../support/core.js';
import { CountingLogger } from '../support/fake-runtime.js';
import type { Figure } from '../support/report.js';
import { distribution, ms, nowMs, ratio } from '../support/stats.js';

const SANDBOXES = 50;
const TOKEN = 'bench-local-token-0123';
const WAIT_SECONDS = 10;
/** The floor's readiness poll: tight, so the floor is the process's own start-up. */
const FLOOR_POLL_MS = 5;
const READY_TIMEOUT_MS = 30_000;

const sleep = (milliseconds: number) => new Promise((resolve) => setTimeout(resolve, milliseconds));

/** Polls `GET http://endpoint/` until it answers 200; throws after the timeout. */
async function untilAnswers(base: string, pollMs: number): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    try {
      const response = await fetch(`${base}/`);
      await response.arrayBuffer();
      if (response.ok) return;
    } catch {
      // Not listening yet.
    }
    await sleep(pollMs);
  }
  throw new Error(`${base} did not answer within ${READY_TIMEOUT_MS} ms`);
}

interface SandboxAnswer {
  readonly sandbox: { status: string; endpoint: { host: string; port: number } | null };
}

/** PUT with waitSeconds, then the agent's own `GET /`: what a caller waits for before it can use the sandbox. */
async function timeToReady(url: string, chatId: string): Promise<{ totalMs: number; runningMs: number }> {
  const headers = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
  const start = nowMs();
  const put = await fetch(`${url}/v1/chats/${chatId}/sandbox`, {
    method: 'PUT',
    headers,
    body: JSON.stringify({ agentId: 'agent-bench', waitSeconds: WAIT_SECONDS }),
  });
  let answer = (await put.json()) as SandboxAnswer;
  if (put.status !== 201) throw new Error(`PUT answered ${put.status}: ${JSON.stringify(answer)}`);
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (answer.sandbox.status === 'provisioning' && Date.now() < deadline) {
    const get = await fetch(`${url}/v1/chats/${chatId}/sandbox?waitSeconds=${WAIT_SECONDS}`, { headers });
    answer = (await get.json()) as SandboxAnswer;
  }
  const runningMs = nowMs() - start;
  const endpoint = answer.sandbox.endpoint;
  if (answer.sandbox.status !== 'running' || !endpoint) {
    throw new Error(`sandbox ended ${answer.sandbox.status} without an endpoint`);
  }
  await untilAnswers(`http://${endpoint.host}:${endpoint.port}`, FLOOR_POLL_MS);
  return { totalMs: nowMs() - start, runningMs };
}

/** The floor: the example agent started directly with the same environment, polled until it answers. */
async function directStart(dataDir: string): Promise<number> {
  const chatId = newChatId();
  const chatDir = join(dataDir, 'direct', chatId);
  mkdirSync(chatDir, { recursive: true });
  const port = await freePort();
  const start = nowMs();
  const child: ChildProcess = spawn(process.execPath, [EXAMPLE_AGENT_PATH], {
    cwd: chatDir,
    stdio: 'ignore',
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      AGENT_ID: 'agent-bench',
      CHAT_ID: chatId,
      SESSION_ID: newChatId(),
      HOST: '127.0.0.1',
      PORT: String(port),
      CHAT_DIR: chatDir,
      DEPENDENCIES_DIR: join(dataDir, 'direct'),
      TOOLS_DIR: join(dataDir, 'direct'),
    },
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await untilAnswers(`http://127.0.0.1:${port}`, FLOOR_POLL_MS);
    return nowMs() - start;
  } finally {
    child.kill('SIGTERM');
    await Promise.race([exited, sleep(5_000).then(() => child.kill('SIGKILL'))]);
    await exited;
  }
}

/**
 * Local mode on the run's DynamoDB Local: 50 new chats one after another, each `PUT ... waitSeconds`
 * until running and then `GET /` at the sandbox's endpoint, interleaved with the example agent started
 * directly. Deletes every sandbox and stops the control plane at the end.
 */
export const localReadyFigure: Figure = {
  id: 6,
  title: 'Local time to ready',
  async run({ dynamo, progress, onAbort }) {
    const dataDir = mkdtempSync(join(tmpdir(), 'bench-local-'));
    const logger = new CountingLogger();
    try {
      const config = parseLocalConfig({
        PORT: '0',
        HOST: '127.0.0.1',
        SANDBOX_API_TOKEN: TOKEN,
        SANDBOX_DATA_DIR: dataDir,
        DYNAMODB_ENDPOINT: dynamo.endpoint,
        SANDBOX_TABLE_NAME: `bench-local-${newChatId().slice(0, 8)}`,
      });
      const plane = await startLocalControlPlane(config, logger);
      const unregister = onAbort(() => plane.stop());
      const chats: string[] = [];
      const samples = { plane: [] as number[], running: [] as number[], direct: [] as number[] };
      let deleted = 0;
      let liveAfterStop = -1;
      try {
        progress(`figure 6: ${SANDBOXES} sandboxes, each next to a direct start of the example agent`);
        for (let i = 0; i < SANDBOXES; i += 1) {
          const chatId = newChatId();
          chats.push(chatId);
          const ready = await timeToReady(plane.url, chatId);
          samples.plane.push(ready.totalMs);
          samples.running.push(ready.runningMs);
          samples.direct.push(await directStart(dataDir));
        }
        for (const chatId of chats) {
          const response = await fetch(`${plane.url}/v1/chats/${chatId}/sandbox`, {
            method: 'DELETE',
            headers: { authorization: `Bearer ${TOKEN}` },
          });
          const body = (await response.json()) as { result?: string };
          if (body.result === 'deleted') deleted += 1;
        }
      } finally {
        unregister();
        await plane.stop();
        liveAfterStop = (await plane.deps.runtime.inventory()).tasks.length;
      }
      const planeDist = distribution(samples.plane);
      const directDist = distribution(samples.direct);
      const runningDist = distribution(samples.running);
      return {
        status: 'measured',
        workload: `${SANDBOXES} new chats in sequence on local mode (example agent profile): PUT waitSeconds=${WAIT_SECONDS}, then GET / at the endpoint; floor: the example agent spawned directly, polled every ${FLOOR_POLL_MS} ms`,
        rows: [
          {
            measure: 'PUT to agent answering, p50',
            value: ms(planeDist.p50),
            floor: ms(directDist.p50),
            ratio: ratio(planeDist.p50, directDist.p50),
          },
          {
            measure: 'PUT to agent answering, p99',
            value: ms(planeDist.p99),
            floor: ms(directDist.p99),
            ratio: ratio(planeDist.p99, directDist.p99),
          },
          { measure: 'of which PUT answering "running", p50', value: ms(runningDist.p50) },
          {
            measure: 'deleted / live after stop / error logs',
            value: `${deleted} / ${liveAfterStop} / ${logger.errors}`,
          },
        ],
        data: {
          sandboxes: SANDBOXES,
          plane: planeDist,
          putAnsweredRunning: runningDist,
          direct: directDist,
          deleted,
          liveAfterStop,
          errorLogs: logger.errors,
          warnings: logger.warnings,
        },
      };
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  },
};
