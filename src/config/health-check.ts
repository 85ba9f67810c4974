/** The schema of a profile's health check (src/core/health-check.ts), with ECS's bounds. */
import * as z from '../zod.js';

export type { HealthCheckSpec } from '../core/health-check.js';

const seconds = (min: number, max: number) => z.optional(z.int().check(z.minimum(min), z.maximum(max)));

export const HealthCheckSchema = z
  .strictObject({
    path: z.optional(
      z
        .string()
        .check(z.regex(/^\/[A-Za-z0-9._~!$&'()*+,;=:@%/?-]{0,255}$/, 'must be a URL path starting with /')),
    ),
    command: z.optional(z.array(z.string().check(z.minLength(1))).check(z.minLength(1))),
    intervalSeconds: seconds(5, 300),
    timeoutSeconds: seconds(2, 60),
    retries: seconds(1, 10),
    startPeriodSeconds: seconds(0, 300),
  })
  .check(
    z.refine(
      (check) => (check.path === undefined) !== (check.command === undefined),
      'give either path or command',
    ),
  );

/** Profile names whose profile declares a health check. */
export function healthCheckedProfiles(
  profiles: Readonly<Record<string, { readonly healthCheck?: unknown }>>,
): string[] {
  return Object.entries(profiles)
    .filter(([, profile]) => Boolean(profile.healthCheck))
    .map(([name]) => name);
}
