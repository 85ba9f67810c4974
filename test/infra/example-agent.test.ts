import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { EXAMPLE_AGENT_IMAGE, exampleAgentSource } from '../../infra/bin/example-agent.js';
import { freePort } from '../../src/adapters/local/free-port.js';
import { ENV } from '../../src/names.js';
import { synthApp } from './synth.js';
import { API_FUNCTION, type Resource, templateQueries } from './template-queries.js';

const run = promisify(execFile);

interface Container {
  Image: string;
  Command: string[];
  User: string;
  HealthCheck: { Command: string[] };
}

const { serviceTemplate: template } = synthApp();
const [[, definition]] = templateQueries(template).resources('AWS::ECS::TaskDefinition') as [
  [string, Resource],
];
const container = (definition.Properties.ContainerDefinitions as Container[])[0]!;

/** Polls until `check` passes or the deadline is reached. */
async function until(check: () => Promise<boolean>, deadlineMs: number): Promise<boolean> {
  const end = Date.now() + deadlineMs;
  while (Date.now() < end) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return false;
}

describe('the default profile without sandboxImage', () => {
  it('runs the example agent on the public Node.js image as uid 1000, health-checked by node', () => {
    expect(container.Image).toBe(EXAMPLE_AGENT_IMAGE);
    expect(container.Command).toEqual(['node', '--input-type=module', '-e', exampleAgentSource()]);
    expect(container.User).toBe('1000:1000');
    expect(container.HealthCheck.Command.slice(0, 3)).toEqual(['CMD', 'node', '-e']);
    // The functions wait for HEALTHY before answering `running`.
    const [, api] = templateQueries(template)
      .resources('AWS::Lambda::Function')
      .find(([, fn]) => fn.Properties.Description === API_FUNCTION)!;
    const variables = (api.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(variables[ENV.healthCheckedProfiles]).toBe('default');
  });

  it('serves $PORT with that command, and passes that health check, as the container will', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'example-agent-'));
    // A port that is free now: a random one could be taken, and the agent would never listen.
    const port = await freePort();
    const env = {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      CHAT_DIR: join(dir, 'chat'),
      TOOLS_DIR: join(dir, 'tools'),
      AGENT_ID: 'agent-1',
      CHAT_ID: 'chat-1',
      SESSION_ID: 'session-1',
    };
    const [command, ...args] = container.Command as [string, ...string[]];
    let agent: ChildProcess | undefined;
    try {
      agent = spawn(command, args, { env, stdio: 'ignore' });
      const [, probeCommand, ...probeArgs] = container.HealthCheck.Command.map((part) =>
        part.replace('127.0.0.1:8080', `127.0.0.1:${port}`),
      ) as [string, string, ...string[]];
      const healthy = await until(
        () =>
          run(probeCommand, probeArgs, { timeout: 5_000 }).then(
            () => true,
            () => false,
          ),
        20_000,
      );
      expect(healthy).toBe(true);
      const answer = await fetch(`http://127.0.0.1:${port}/`).then((r) => r.json());
      expect(answer).toMatchObject({ chatId: 'chat-1', sessionId: 'session-1', agentId: 'agent-1' });
    } finally {
      agent?.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);
});
