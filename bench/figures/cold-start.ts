/** Figure 5: cold start of the api function's bundle against a hello-world Hono Lambda built the same way. */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { apiGatewayV2Get, PROBE_SOURCE, type ProbeResult } from '../support/lambda-probe.js';
import type { Figure, Row } from '../support/report.js';
import { count, distribution, ms, nowMs, ratio } from '../support/stats.js';

const API_ENTRY = fileURLToPath(new URL('../../functions/api.ts', import.meta.url));
const HELLO_ENTRY = fileURLToPath(new URL('../fixtures/hello-lambda.ts', import.meta.url));
const RUNS = 20;
const PROCESS_TIMEOUT_MS = 20_000;

/** The bundling options of infra/constructs/sandbox-function.ts (NodejsFunction, bundleAwsSDK: true). */
async function bundle(
  entry: string,
  outfile: string,
): Promise<{ bytes: number; gzipBytes: number; mapBytes: number }> {
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'esm',
    mainFields: ['module', 'main'],
    banner: { js: "import { createRequire } from 'module'; const require = createRequire(import.meta.url);" },
    minify: true,
    sourcemap: true,
    logLevel: 'error',
  });
  const code = readFileSync(outfile);
  return { bytes: code.length, gzipBytes: gzipSync(code).length, mapBytes: statSync(`${outfile}.map`).size };
}

/** Dummy configuration for the api function: valid shapes, loopback DynamoDB, nothing that reaches AWS. */
function apiEnvironment(dynamoEndpoint: string): Record<string, string> {
  return {
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'bench',
    AWS_SECRET_ACCESS_KEY: 'bench',
    AWS_LAMBDA_FUNCTION_NAME: 'bench-api',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    SANDBOX_TABLE_NAME: 'bench-cold-start',
    SANDBOX_CLUSTER_ARN: 'arn:aws:ecs:us-east-1:123456789012:cluster/bench',
    SANDBOX_SUBNET_IDS: 'subnet-0123456789abcdef0',
    SANDBOX_SECURITY_GROUP_IDS: 'sg-0123456789abcdef0',
    SANDBOX_FILE_SYSTEM_ID: 'fs-0123456789abcdef0',
    SANDBOX_DEPENDENCIES_ACCESS_POINT_ID: 'fsap-0123456789abcdef0',
    SANDBOX_TOOLS_ACCESS_POINT_ID: 'fsap-0123456789abcdef1',
    SANDBOX_TASK_FAMILY_PREFIX: 'bench-sandbox',
    SANDBOX_PROFILES: JSON.stringify({
      default: {
        taskDefinitionArn: 'arn:aws:ecs:us-east-1:123456789012:task-definition/bench-sandbox:1',
        containerName: 'agent',
        port: 8080,
      },
    }),
    DYNAMODB_ENDPOINT: dynamoEndpoint,
  };
}

interface Variant {
  readonly name: string;
  /** Arguments after the node executable. */
  readonly args: readonly string[];
  readonly env: Record<string, string>;
  /** Where the probe writes its result; absent for the bare Node floor. */
  readonly resultFile?: string;
}

/** Runs one fresh Node process; answers its wall time (spawn to exit) and the probe's own timings. */
function runOnce(variant: Variant): Promise<{ wallMs: number; probe: ProbeResult | null }> {
  return new Promise((resolvePromise, reject) => {
    if (variant.resultFile) rmSync(variant.resultFile, { force: true });
    const start = nowMs();
    const child = spawn(process.execPath, [...variant.args], {
      env: { PATH: process.env.PATH ?? '', ...variant.env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), PROCESS_TIMEOUT_MS);
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      const wallMs = nowMs() - start;
      if (code !== 0) {
        reject(new Error(`${variant.name}: exited ${code ?? signal}: ${stderr.trim().slice(0, 500)}`));
        return;
      }
      const probe = variant.resultFile
        ? (JSON.parse(readFileSync(variant.resultFile, 'utf8')) as ProbeResult)
        : null;
      resolvePromise({ wallMs, probe });
    });
  });
}

const SKIPPED_ROW = { measure: 'skipped: functions/api.ts not present', value: '' };

/**
 * Bundles functions/api.ts and a hello-world Hono Lambda with the deployment's esbuild options, then
 * runs each in a fresh Node process that imports the bundle and answers `GET /v1/health` (or `GET /`)
 * through the exported handler, `RUNS` times each, interleaved, next to a bare `node -e ''` start.
 */
export const coldStartFigure: Figure = {
  id: 5,
  title: 'Cold start of the api function',
  async run({ dynamo, progress }) {
    const workload = `esbuild bundles (esm, node22, minified, source maps, AWS SDK bundled); ${RUNS} fresh processes each, interleaved: import + first GET through the handler`;
    if (!existsSync(API_ENTRY))
      return { status: 'skipped', workload, rows: [SKIPPED_ROW], data: { skipped: SKIPPED_ROW.measure } };
    const dir = mkdtempSync(join(tmpdir(), 'bench-cold-start-'));
    try {
      const apiFile = join(dir, 'api', 'index.mjs');
      const helloFile = join(dir, 'hello', 'index.mjs');
      const apiSize = await bundle(API_ENTRY, apiFile);
      const helloSize = await bundle(HELLO_ENTRY, helloFile);
      const probe = join(dir, 'probe.mjs');
      writeFileSync(probe, PROBE_SOURCE);
      const probeArgs = (file: string, path: string, result: string) => [
        probe,
        pathToFileURL(file).href,
        JSON.stringify(apiGatewayV2Get(path)),
        join(dir, result),
      ];
      // NodejsFunction sets NODE_OPTIONS=--enable-source-maps when sourceMap is on: the deployed setting.
      const deployed = { NODE_OPTIONS: '--enable-source-maps' };
      const variants: Variant[] = [
        {
          name: 'api',
          args: probeArgs(apiFile, '/v1/health', 'api.json'),
          env: { ...apiEnvironment(dynamo.endpoint), ...deployed },
          resultFile: join(dir, 'api.json'),
        },
        {
          name: 'api-no-source-maps',
          args: probeArgs(apiFile, '/v1/health', 'api-plain.json'),
          env: apiEnvironment(dynamo.endpoint),
          resultFile: join(dir, 'api-plain.json'),
        },
        {
          name: 'hello',
          args: probeArgs(helloFile, '/', 'hello.json'),
          env: deployed,
          resultFile: join(dir, 'hello.json'),
        },
        { name: 'node', args: ['-e', ''], env: {} },
      ];
      progress(
        `figure 5: bundles built (api ${count(apiSize.bytes)} B, hello ${count(helloSize.bytes)} B); ${RUNS} runs each`,
      );
      const samples = new Map(
        variants.map((variant) => [variant.name, [] as { wallMs: number; probe: ProbeResult | null }[]]),
      );
      for (let run = 0; run < RUNS; run += 1) {
        for (const variant of variants) samples.get(variant.name)!.push(await runOnce(variant));
      }
      const statusOf = (name: string) => samples.get(name)!.map((sample) => sample.probe?.statusCode);
      for (const name of ['api', 'api-no-source-maps', 'hello']) {
        if (statusOf(name).some((status) => status !== 200)) {
          throw new Error(
            `${name}: first request answered ${statusOf(name).join(',')}: ${samples.get(name)![0]!.probe?.body}`,
          );
        }
      }
      const timings = (name: string) => {
        const runs = samples.get(name)!;
        return {
          import: distribution(runs.map((sample) => sample.probe!.importMs)),
          first: distribution(runs.map((sample) => sample.probe!.firstRequestMs)),
          total: distribution(runs.map((sample) => sample.probe!.totalMs)),
          wall: distribution(runs.map((sample) => sample.wallMs)),
        };
      };
      const api = timings('api');
      const plain = timings('api-no-source-maps');
      const hello = timings('hello');
      const bare = distribution(samples.get('node')!.map((sample) => sample.wallMs));
      const kib = (bytes: number) => `${(bytes / 1024).toFixed(0)} KiB`;
      const rows: Row[] = [
        {
          measure: 'bundle size (gzip)',
          value: `${kib(apiSize.bytes)} (${kib(apiSize.gzipBytes)})`,
          floor: `${kib(helloSize.bytes)} (${kib(helloSize.gzipBytes)})`,
          ratio: ratio(apiSize.bytes, helloSize.bytes),
        },
        {
          measure: 'import bundle, median',
          value: ms(api.import.p50),
          floor: ms(hello.import.p50),
          ratio: ratio(api.import.p50, hello.import.p50),
        },
        {
          measure: 'first request through handler, median',
          value: ms(api.first.p50),
          floor: ms(hello.first.p50),
          ratio: ratio(api.first.p50, hello.first.p50),
        },
        {
          measure: 'process start to first answer, median',
          value: ms(api.total.p50),
          floor: ms(hello.total.p50),
          ratio: ratio(api.total.p50, hello.total.p50),
        },
        {
          measure: 'same, without --enable-source-maps',
          value: ms(plain.total.p50),
          floor: ms(hello.total.p50),
          ratio: ratio(plain.total.p50, hello.total.p50),
        },
        {
          measure: 'spawn to exit, median (floor: bare node -e "")',
          value: ms(api.wall.p50),
          floor: ms(bare.p50),
          ratio: ratio(api.wall.p50, bare.p50),
        },
      ];
      return {
        status: 'measured',
        workload,
        rows,
        data: {
          runs: RUNS,
          node: process.version,
          sizes: { api: apiSize, hello: helloSize },
          api,
          apiWithoutSourceMaps: plain,
          hello,
          bareNodeWallMs: bare,
        },
      };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
