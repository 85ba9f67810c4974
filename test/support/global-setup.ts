import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import type { TestProject } from 'vitest/node';
import { type HostProcess, listProcesses, signalGroup } from '../../src/adapters/local/host-processes.js';
import { DATA_DIR_MARKER } from '../../src/adapters/local/local-runtime.js';
import { startLocalDynamo } from '../../src/local/dynamodb-local.js';

declare module 'vitest' {
  export interface ProvidedContext {
    dynamoEndpoint: string;
  }
}

/** Marks every process the run starts (inherited through the environment), for the leak check. */
const RUN_MARKER = 'SANDBOX_TEST_RUN';

/**
 * One in-memory DynamoDB Local for the whole run; each test file makes its own tables. Test data
 * folders live under one temporary folder of the run (TMPDIR is set for the workers), so at the end
 * any process still alive that the run started is found and fails the run: a JVM, a control plane,
 * or a sandbox process of one of the run's data folders.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const runId = randomUUID();
  const root = mkdtempSync(join(tmpdir(), 'sandbox-tests-'));
  process.env[RUN_MARKER] = runId;
  process.env.TMPDIR = root;
  const dynamo = await startLocalDynamo();
  project.provide('dynamoEndpoint', dynamo.endpoint);
  return async () => {
    await dynamo.stop();
    const leaked = await leftovers(runId, root);
    for (const found of leaked) signalGroup(found.pgid, 'SIGKILL');
    rmSync(root, { recursive: true, force: true });
    if (leaked.length > 0) {
      const lines = leaked.map((found) => `  pid ${found.pid}: ${found.argv.join(' ').slice(0, 160)}`);
      // Vitest reports an error thrown here but still exits 0; the exit code must say so too.
      process.exitCode = 1;
      throw new Error(`tests left ${leaked.length} process(es) running:\n${lines.join('\n')}`);
    }
  };
}

/** Processes of this run still alive after a short grace for ones that are on their way out. */
async function leftovers(runId: string, root: string): Promise<HostProcess[]> {
  const started = (found: HostProcess) => {
    const marker = found.env.get(DATA_DIR_MARKER);
    if (marker?.startsWith(`${root}${sep}`)) return true;
    if (found.env.get(RUN_MARKER) !== runId) return false;
    const commandLine = found.argv.join(' ');
    return commandLine.includes('DynamoDBLocal.jar') || commandLine.includes('src/local/main.ts');
  };
  const deadline = Date.now() + 3_000;
  let leaked = listProcesses().filter(started);
  while (leaked.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    leaked = listProcesses().filter(started);
  }
  return leaked;
}
