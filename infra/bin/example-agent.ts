import { readFileSync } from 'node:fs';
import type { SandboxProfile } from '../constructs/sandbox-task-definition.js';

/**
 * The public Node.js image the example agent runs on when no `sandboxImage` is given: multi-arch
 * (the task definitions run on arm64), pulled from ECR Public over HTTPS, so a fresh deploy needs
 * neither Docker nor a registry of its own.
 */
export const EXAMPLE_AGENT_IMAGE = 'public.ecr.aws/docker/library/node:22-slim';

/** uid:gid of the `node` user of that image, the owner of the chat directories (as in examples/agent/Dockerfile). */
const EXAMPLE_AGENT_USER = '1000:1000';

/** The example agent's source: one dependency-free ES module (examples/agent/agent.mjs). */
export function exampleAgentSource(): string {
  return readFileSync(new URL('../../examples/agent/agent.mjs', import.meta.url), 'utf8');
}

/**
 * The container settings that make the Node.js image serve the example agent on `$PORT`: the agent's
 * source passed to `node` as its command, run as uid 1000, with a health check that `node` itself
 * performs (the slim image has no `curl`), so a session is `running` only once the agent answers.
 */
export function exampleAgentContainer(
  port: number,
  healthPath = '/health',
): Pick<SandboxProfile, 'image' | 'command' | 'user' | 'healthCheck'> {
  const url = JSON.stringify(`http://127.0.0.1:${port}${healthPath}`);
  const probe = `fetch(${url}).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))`;
  return {
    image: EXAMPLE_AGENT_IMAGE,
    command: ['node', '--input-type=module', '-e', exampleAgentSource()],
    user: EXAMPLE_AGENT_USER,
    healthCheck: { command: ['node', '-e', probe] },
  };
}
