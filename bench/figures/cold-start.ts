/** Figure 5: cold start of the api function's bundle against a hello-world Hono Lambda built the same way. */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { FUNCTION_BUNDLING } from '../../infra/constructs/function-bundling.js';
import { LOCAL_REGION, TEST_CREDENTIALS } from '../../src/adapters/dynamodb/client.js';
import { DynamoSessionStore } from '../../src/adapters/dynamodb/session-store.js';
import type { LocalDynamo } from '../../src/local/dynamodb-local.js';
import { createBenchTable } from '../support/dynamo.js';
import {
  apiGatewayV2Get,
  apiGatewayV2Request,
  PROBE_SOURCE,
  type ProbeResult,
} from '../support/lambda-probe.js';
import type { Figure, Row } from '../support/report.js';
import { count, distribution, ms, nowMs, ratio } from '../support/stats.js';

const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const API_ENTRY = fileURLToPath(new URL('../../functions/api.ts', import.meta.url));
const HELLO_ENTRY = fileURLToPath(new URL('../fixtures/hello-lambda.ts', import.meta.url));
const DYNAMODB_ENTRY = fileURLToPath(new URL('../fixtures/dynamodb-lambda.ts', import.meta.url));
const RUNS = 20;
const PROCESS_TIMEOUT_MS = 20_000;

/** The bundling options of infra/constructs/function-bundling.ts, as the deployment uses them. */
async function bundle(
  entry: string,
  outfile: string,
): Promise<{ bytes: number; gzipBytes: number; mapBytes: number }> {
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: FUNCTION_BUNDLING.platform,
    target: FUNCTION_BUNDLING.target,
    format: FUNCTION_BUNDLING.format,
    mainFields: [...FUNCTION_BUNDLING.mainFields],
    banner: { js: FUNCTION_BUNDLING.banner },
    minify: FUNCTION_BUNDLING.minify,
    sourcemap: FUNCTION_BUNDLING.sourcemap,
    alias: FUNCTION_BUNDLING.alias,
    absWorkingDir: PROJECT_ROOT,
    logLevel: 'error',
  });
  const code = readFileSync(outfile);
  return { bytes: code.length, gzipBytes: gzipSync(code).length, mapBytes: statSync(`${outfile}.map`).size };
}

/** Dummy configuration for the api function: valid shapes, loopback DynamoDB, nothing that reaches AWS. */
function apiEnvironment(dynamoEndpoint: string, tableName: string): Record<string, string> {
  return {
    // DynamoDB Local keeps one database per key and region: the ones the seeded table was made with.
    AWS_REGION: LOCAL_REGION,
    AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
    AWS_LAMBDA_FUNCTION_NAME: 'bench-api',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    SANDBOX_TABLE_NAME: tableName,
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

const BENCH_CALLER = 'arn:aws:iam::123456789012:user/bench';
const BENCH_CHAT = '11111111-1111-4111-8111-111111111111';

/**
 * A live session of the probe's caller and chat, so that the first answer of every fresh process is
 * a reuse `PUT`: one conditional write through the whole stack (auth, validation, store, render).
 */
async function seedLiveSession(dynamo: LocalDynamo): Promise<string> {
  const client = dynamo.client();
  try {
    const tableName = await createBenchTable(client, 'cold-start');
    const now = Date.now();
    const claimed = await new DynamoSessionStore(client, tableName).claim(
      {
        tenant: BENCH_CALLER,
        chatId: BENCH_CHAT,
        sessionId: '22222222-2222-4222-8222-222222222222',
        agentId: 'agent-bench',
        profile: 'default',
        ownerId: null,
        status: 'running',
        endpoint: { host: '10.0.0.1', port: 8080 },
        runtimeRef: 'arn:aws:ecs:us-east-1:123456789012:task/bench/1',
        createdAt: now,
        lastActiveAt: now,
        expiresAt: now + 3_600_000,
        maxExpiresAt: now + 8 * 3_600_000,
        idleTimeoutSeconds: 900,
        stoppedAt: null,
        runningAt: null,
        expiringAt: null,
        settledAt: null,
        replacedUsage: null,
        stopReason: null,
        statusDetail: null,
        metadata: {},
        env: {},
        version: 1,
        dueAt: now + 3_600_000,
        launchAttempts: 1,
        stopAttempts: 0,
        runtimeEventVersion: null,
        ttl: null,
      },
      null,
    );
    if (!claimed.ok) throw new Error('could not seed the cold-start session');
    return tableName;
  } finally {
    client.destroy();
  }
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
      const dynamodbFile = join(dir, 'dynamodb', 'index.mjs');
      const dynamodbSize = await bundle(DYNAMODB_ENTRY, dynamodbFile);
      const probe = join(dir, 'probe.mjs');
      writeFileSync(probe, PROBE_SOURCE);
      const tableName = await seedLiveSession(dynamo);
      const probeArgs = (file: string, event: Record<string, unknown>, result: string) => [
        probe,
        pathToFileURL(file).href,
        JSON.stringify(event),
        join(dir, result),
      ];
      const reusePut = apiGatewayV2Request({
        method: 'PUT',
        path: `/v1/chats/${BENCH_CHAT}/sandbox`,
        body: { agentId: 'agent-bench' },
        userArn: BENCH_CALLER,
      });
      const env = apiEnvironment(dynamo.endpoint, tableName);
      // NodejsFunction sets NODE_OPTIONS=--enable-source-maps when sourceMap is on: the deployed setting.
      const deployed = { NODE_OPTIONS: '--enable-source-maps' };
      const variants: Variant[] = [
        {
          name: 'api',
          args: probeArgs(apiFile, reusePut, 'api.json'),
          env: { ...env, ...deployed },
          resultFile: join(dir, 'api.json'),
        },
        {
          name: 'api-no-source-maps',
          args: probeArgs(apiFile, reusePut, 'api-plain.json'),
          env,
          resultFile: join(dir, 'api-plain.json'),
        },
        {
          name: 'api-health',
          args: probeArgs(apiFile, apiGatewayV2Get('/v1/health'), 'api-health.json'),
          env: { ...env, ...deployed },
          resultFile: join(dir, 'api-health.json'),
        },
        {
          name: 'dynamodb',
          args: probeArgs(dynamodbFile, { pk: `CHAT#${BENCH_CALLER}#${BENCH_CHAT}` }, 'dynamodb.json'),
          env: { ...env, ...deployed },
          resultFile: join(dir, 'dynamodb.json'),
        },
        {
          name: 'hello',
          args: probeArgs(helloFile, apiGatewayV2Get('/'), 'hello.json'),
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
      for (const name of ['api', 'api-no-source-maps', 'api-health', 'dynamodb', 'hello']) {
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
      const health = timings('api-health');
      const dynamodbOnly = timings('dynamodb');
      const hello = timings('hello');
      const bare = distribution(samples.get('node')!.map((sample) => sample.wallMs));
      const kib = (bytes: number) => `${(bytes / 1024).toFixed(0)} KiB`;
      const rows: Row[] = [
        {
          measure: 'bundle size (gzip)',
          value: `${kib(apiSize.bytes)} (${kib(apiSize.gzipBytes)})`,
          floor: `${kib(helloSize.bytes)} (${kib(helloSize.gzipBytes)})`,
          ratio: ratio(apiSize.bytes, helloSize.bytes),
          target: '<= 600 KiB',
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
          measure: 'process start to first answer (a reuse PUT), median',
          value: ms(api.total.p50),
          floor: ms(hello.total.p50),
          ratio: ratio(api.total.p50, hello.total.p50),
          target: '<= 2x',
        },
        {
          measure: 'floor 2: a bundle that only sends one UpdateItem (SDK bundled)',
          value: ms(dynamodbOnly.total.p50),
          floor: ms(hello.total.p50),
          ratio: ratio(dynamodbOnly.total.p50, hello.total.p50),
        },
        {
          measure: 'api reuse PUT against floor 2',
          value: ms(api.total.p50),
          floor: ms(dynamodbOnly.total.p50),
          ratio: ratio(api.total.p50, dynamodbOnly.total.p50),
        },
        {
          measure: 'same, first answer GET /v1/health',
          value: ms(health.total.p50),
          floor: ms(hello.total.p50),
          ratio: ratio(health.total.p50, hello.total.p50),
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
          sizes: { api: apiSize, hello: helloSize, dynamodbOnly: dynamodbSize },
          dynamodbOnly,
          api,
          apiWithoutSourceMaps: plain,
          apiHealth: health,
          hello,
          bareNodeWallMs: bare,
        },
      };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
