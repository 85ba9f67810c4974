/** A secret's value from Secrets Manager, read once per process and kept for a while. */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

/** How long a value read is used before it is read again (a rotated secret takes this long). */
const CACHE_MS = 5 * 60_000;

/** The functions' Secrets Manager client: region and credentials from the environment. */
export function createSecretsClient(): SecretsManagerClient {
  return new SecretsManagerClient({ retryMode: 'standard', maxAttempts: 3 });
}

/** Reads `secretId`'s string value, at most every five minutes. */
export function cachedSecret(
  client: SecretsManagerClient,
  secretId: string,
  now = Date.now,
): () => Promise<string> {
  let cached: { value: string; at: number } | null = null;
  return async () => {
    if (cached && now() - cached.at < CACHE_MS) return cached.value;
    const { SecretString } = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
    if (!SecretString) throw new Error('the webhook secret has no string value');
    cached = { value: SecretString, at: now() };
    return SecretString;
  };
}
