/**
 * The client as a package subpath: `npm run build:client` bundles it to dist/client/index.js, and
 * `import ... from 'agent-sandbox-control-plane/client'` (Node's self-reference through `exports`)
 * loads it in plain Node, without zod and without loading the SigV4 modules up front.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';

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

  it('type-checks a strict consumer against the emitted declarations', async () => {
    // Inside the package, so the package name resolves through `exports` (self-reference).
    const dir = mkdtempSync(join(ROOT, '.consumer-'));
    try {
      writeFileSync(
        join(dir, 'use.ts'),
        `import { NotFoundError, SandboxClient } from 'agent-sandbox-control-plane/client';
const client = new SandboxClient({ baseUrl: 'http://127.0.0.1:8123', auth: { token: 't' } });
export async function statusOf(chatId: string): Promise<string> {
  try {
    return (await client.get(chatId)).status;
  } catch (error) {
    if (error instanceof NotFoundError) return 'none';
    throw error;
  }
}
`,
      );
      writeFileSync(
        join(dir, 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: {
            target: 'ES2022',
            module: 'NodeNext',
            moduleResolution: 'NodeNext',
            strict: true,
            exactOptionalPropertyTypes: true,
            skipLibCheck: false,
            noEmit: true,
            types: ['node'],
          },
          include: ['use.ts'],
        }),
      );
      const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
      const result = await run(process.execPath, [tsc, '-p', dir]).then(
        () => ({ code: 0, out: '' }),
        (error: { stdout: string }) => ({ code: 1, out: error.stdout }),
      );
      expect(result).toEqual({ code: 0, out: '' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
