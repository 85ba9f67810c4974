/**
 * The api function's bundle, built with the deployment's esbuild options (infra/constructs/
 * function-bundling.ts): it stays within its size budget, and what made it heavy before stays out.
 */
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { FUNCTION_BUNDLING } from '../../infra/constructs/function-bundling.js';

const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BUDGET_BYTES = 600 * 1024;

describe('the function bundles', () => {
  it('stays within 600 KiB minified, without classic zod or the SDK credential chain', async () => {
    const result = await build({
      entryPoints: ['functions/api.ts'],
      absWorkingDir: PROJECT_ROOT,
      bundle: true,
      write: false,
      outfile: 'api/index.mjs',
      platform: FUNCTION_BUNDLING.platform,
      target: FUNCTION_BUNDLING.target,
      format: FUNCTION_BUNDLING.format,
      mainFields: [...FUNCTION_BUNDLING.mainFields],
      banner: { js: FUNCTION_BUNDLING.banner },
      minify: FUNCTION_BUNDLING.minify,
      alias: FUNCTION_BUNDLING.alias,
      metafile: true,
      logLevel: 'error',
    });
    const bundle = result.outputFiles.find((file) => file.path.endsWith('.mjs'))!;
    expect(bundle.contents.length).toBeLessThanOrEqual(BUDGET_BYTES);
    // Inputs whose code is in the bundle (the metafile lists tree-shaken ones too, with 0 bytes).
    const output = Object.values(result.metafile.outputs).find((entry) => entry.entryPoint)!;
    const inputs = Object.entries(output.inputs)
      .filter(([, input]) => input.bytesInOutput > 0)
      .map(([path]) => path);
    expect(inputs.filter((input) => input.includes('node_modules/zod/v4/classic/'))).toEqual([]);
    expect(inputs.filter((input) => input.includes('zod/v4/locales/') && !input.endsWith('/en.js'))).toEqual(
      [],
    );
    expect(inputs.filter((input) => input.includes('credential-provider-node'))).toEqual([]);
    // The logs route and its CloudWatch Logs client are the logs function's, not this one's.
    const logsParts = /client-cloudwatch-logs|logs-routes|sandbox-logs/;
    expect(inputs.filter((input) => logsParts.test(input))).toEqual([]);
    // So is the OpenAPI document, with zod's JSON Schema generator.
    const documentParts = /to-json-schema|json-schema-processors|http\/openapi\.ts|document-route/;
    expect(inputs.filter((input) => documentParts.test(input))).toEqual([]);
  });

  it.each(['event-publisher', 'webhook', 'logs'])('builds the %s function, lean too', async (name) => {
    const result = await build({
      entryPoints: [`functions/${name}.ts`],
      absWorkingDir: PROJECT_ROOT,
      bundle: true,
      write: false,
      outfile: `${name}/index.mjs`,
      platform: FUNCTION_BUNDLING.platform,
      target: FUNCTION_BUNDLING.target,
      format: FUNCTION_BUNDLING.format,
      mainFields: [...FUNCTION_BUNDLING.mainFields],
      banner: { js: FUNCTION_BUNDLING.banner },
      minify: FUNCTION_BUNDLING.minify,
      alias: FUNCTION_BUNDLING.alias,
      logLevel: 'error',
    });
    const bundle = result.outputFiles.find((file) => file.path.endsWith('.mjs'))!;
    expect(bundle.contents.length).toBeLessThanOrEqual(BUDGET_BYTES);
  });
});
