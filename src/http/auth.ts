import { createHash, timingSafeEqual } from 'node:crypto';
import type { Context } from 'hono';

/** Answers the caller's tenant, or null when the request carries no valid credentials. */
export type Authenticator = (c: Context) => string | null | Promise<string | null>;

export function bearerToken(c: Context): string | null {
  const header = c.req.header('authorization');
  const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  return match?.[1] ?? null;
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/**
 * Bearer-token authentication: each token (known by its SHA-256) maps to a tenant. Comparison is by
 * digest in constant time, so neither the token nor its length leaks through timing.
 */
export function bearerTokenAuth(tenantsByTokenSha256: ReadonlyMap<string, string>): Authenticator {
  const entries = [...tenantsByTokenSha256].map(
    ([hex, tenant]) => [Buffer.from(hex, 'hex'), tenant] as const,
  );
  return (c) => {
    const token = bearerToken(c);
    if (!token) return null;
    const digest = sha256(token);
    let tenant: string | null = null;
    for (const [expected, candidate] of entries) {
      if (expected.length === digest.length && timingSafeEqual(expected, digest)) tenant = candidate;
    }
    return tenant;
  };
}

/** Local mode: the data folder's token for tenant `local`, and any more tokens of other tenants. */
export function localTokenAuth(token: string, more: ReadonlyMap<string, string> = new Map()): Authenticator {
  return bearerTokenAuth(new Map([...more, [sha256(token).toString('hex'), 'local']]));
}
