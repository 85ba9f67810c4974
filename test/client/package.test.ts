/**
 * The client as a package subpath: `npm run build:client` bundles it to dist/client/index.js, and
 * `import ... from 'agent-sandbox-control-plane/client'` (Node's self-reference through `exports`)
 * loads it in plain Node, without zod and without loading the SigV4 modules up front.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
// Type-only: checks that the `types` condition of the subpath resolves for TypeScript.
import type { SandboxClient as PackagedClient } from 'agent-sandbox-control-plane/client';
import { beforeAll, describe, expect, it } from 'vitest';
import type { SandboxClient } from '../../src/client/index.js';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');
const BUNDLE = join(ROOT, 'dist', 'client', 'index.js');

/** What a consumer does: import by package name, call, and catch a typed error. */
const CONSUMER = `
import { SandboxClient, NotFoundError, SandboxApiError } from 'agent-sandbox-control-plane/client';
const problem = { type: 'urn:problem-type:agent-sandbox:sandbox_not_found', title: 'Sandbox not found',
  status: 404, code: 'sandbox_not_found', detail: 'no sandbox' };
const client = new SandboxClient({
  auth: { token: 'x' },
  fetch: async () => new Response(JSON.stringify(problem), {
    status: 404, headers: { 'content-type': 'application/problem+json', 'x-request-id': 'r-1' } }),
});
try {
  await client.get('11111111-1111-1111-1111-111111111111');
} catch (error) {
  console.log(JSON.stringify({
    notFound: error instanceof NotFoundError,
    api: error instanceof SandboxApiError,
    code: error.code,
    requestId: error.requestId,
  }));
}
`;

describe('the client package', () => {
  beforeAll(async () => {
    await run('npm', ['run', '--silent', 'build:client'], { cwd: ROOT });
  });

  it('builds without zod and without loading the SigV4 modules up front', () => {
    const bundle = readFileSync(BUNDLE, 'utf8');
    expect(bundle).not.toMatch(/zod/);
    expect(bundle).not.toMatch(/^import .* from /m);
    expect(bundle).toContain('import("@smithy/signature-v4")');
    expect(bundle).toContain('import("@aws-sdk/credential-provider-node")');
  });

  it("imports as 'agent-sandbox-control-plane/client' in plain Node and throws typed errors", async () => {
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', CONSUMER], { cwd: ROOT });
    expect(JSON.parse(stdout)).toEqual({
      notFound: true,
      api: true,
      code: 'sandbox_not_found',
      requestId: 'r-1',
    });
  });

  it('has the same types through the package name as from the source', () => {
    const same: PackagedClient extends SandboxClient
      ? SandboxClient extends PackagedClient
        ? true
        : false
      : false = true;
    expect(same).toBe(true);
  });
});
