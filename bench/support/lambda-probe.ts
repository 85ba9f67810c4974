/**
 * What a cold-start probe needs: a minimal API Gateway v2 event, a Lambda context, and the script a
 * fresh Node process runs to import a bundle and answer one request through its `handler`.
 */

/** A minimal API Gateway HTTP API (payload 2.0) GET event for `path`. */
export function apiGatewayV2Get(path: string): Record<string, unknown> {
  return apiGatewayV2Request({ method: 'GET', path });
}

/**
 * A minimal API Gateway HTTP API (payload 2.0) event; with `userArn`, as the IAM authorizer passes a
 * signed caller.
 */
export function apiGatewayV2Request(request: {
  readonly method: string;
  readonly path: string;
  readonly body?: unknown;
  readonly userArn?: string;
}): Record<string, unknown> {
  const { method, path } = request;
  const domainName = 'bench.execute-api.us-east-1.amazonaws.com';
  const body = request.body === undefined ? {} : { body: JSON.stringify(request.body) };
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString: '',
    headers: {
      host: domainName,
      accept: 'application/json',
      'user-agent': 'bench',
      ...(request.body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...body,
    requestContext: {
      accountId: '123456789012',
      apiId: 'bench',
      domainName,
      domainPrefix: 'bench',
      ...(request.userArn ? { authorizer: { iam: { userArn: request.userArn } } } : {}),
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'bench' },
      requestId: 'bench-request',
      routeKey: '$default',
      stage: '$default',
      time: '22/Nov/2026:00:00:00 +0000',
      timeEpoch: 1_795_305_600_000,
    },
    isBase64Encoded: false,
  };
}

/** What the probe writes to its result file. */
export interface ProbeResult {
  /** From process start (performance.timeOrigin) to the probe's first line: Node's own start-up. */
  readonly bootMs: number;
  /** `await import(bundle)`: parsing and running the bundle's module scope (the function's init). */
  readonly importMs: number;
  /** The first `handler(event, context)` call. */
  readonly firstRequestMs: number;
  /** From process start to the first answer. */
  readonly totalMs: number;
  readonly statusCode: number;
  readonly body: string;
}

/**
 * The probe, an ES module run as `node probe.mjs <bundle file URL> <event JSON> <result file>`.
 * Plain JavaScript, written next to the bundles so it runs without a TypeScript loader.
 */
export const PROBE_SOURCE = `
import { writeFileSync } from 'node:fs';
const bootMs = performance.now();
const [bundleUrl, eventJson, resultFile] = process.argv.slice(2);
const { handler } = await import(bundleUrl);
const imported = performance.now();
const context = {
  callbackWaitsForEmptyEventLoop: true,
  functionName: 'bench-function',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:bench-function',
  memoryLimitInMB: '512',
  awsRequestId: 'bench-request',
  logGroupName: '/aws/lambda/bench-function',
  logStreamName: 'bench',
  getRemainingTimeInMillis: () => 29000,
  done() {},
  fail() {},
  succeed() {},
};
const result = await handler(JSON.parse(eventJson), context);
const answered = performance.now();
writeFileSync(resultFile, JSON.stringify({
  bootMs,
  importMs: imported - bootMs,
  firstRequestMs: answered - imported,
  totalMs: answered,
  statusCode: result.statusCode,
  body: String(result.body).slice(0, 200),
}));
`;
