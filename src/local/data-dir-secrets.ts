/**
 * Secrets local mode keeps in its data folder, one file each, readable by this user only (0600):
 * the API token callers send, the access key that selects DynamoDB Local's database file, and the
 * secret webhook deliveries are signed with.
 * Generated on first start, so no well-known value opens a laptop's control plane.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { StaticCredentials } from '../adapters/dynamodb/client.js';

/** File names inside the data folder. */
export const SECRET_FILES = {
  apiToken: 'api-token',
  dynamoAccessKey: 'dynamodb-access-key',
  webhookSecret: 'webhook-secret',
} as const;

/** A random secret: 32 bytes as base64url (43 characters of [A-Za-z0-9_-]). */
export function newSecret(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * The secret stored at `file`, created with `make()` if absent. Creation is exclusive (`wx`), so two
 * starts racing on a fresh folder agree on one value; a file others can read is narrowed to 0600.
 */
export function loadOrCreateSecret(file: string, make: () => string = newSecret): string {
  try {
    const fd = openSync(file, 'wx', 0o600);
    const value = make();
    try {
      writeSync(fd, `${value}\n`);
    } finally {
      closeSync(fd);
    }
    return value;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
  const value = readFileSync(file, 'utf8').trim();
  if (value.length === 0) throw new Error(`${file} is empty; delete it to have a new secret generated`);
  return value;
}

/** The data folder's API token (`<dataDir>/api-token`). */
export function apiTokenOf(dataDir: string): string {
  return loadOrCreateSecret(join(dataDir, SECRET_FILES.apiToken));
}

/**
 * The data folder's DynamoDB access key: DynamoDB Local keeps one database per key, so a key nobody
 * else knows keeps this folder's sessions out of reach of anything else that can reach its port.
 */
export function dynamoCredentialsOf(dataDir: string): StaticCredentials {
  const accessKeyId = loadOrCreateSecret(join(dataDir, SECRET_FILES.dynamoAccessKey), () =>
    randomBytes(16).toString('hex'),
  );
  return { accessKeyId, secretAccessKey: accessKeyId };
}

/** The data folder's webhook signing secret (`<dataDir>/webhook-secret`). */
export function webhookSecretOf(dataDir: string): string {
  return loadOrCreateSecret(join(dataDir, SECRET_FILES.webhookSecret));
}
