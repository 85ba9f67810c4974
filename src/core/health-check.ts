/**
 * A profile's health check: an HTTP path on the agent port that must answer 2xx, or a command run
 * in the sandbox that must exit 0, with ECS's defaults for interval, timeout, retries and start
 * period. The same setting for local profiles and the stack's (src/config/health-check.ts
 * validates it).
 */

export interface HealthCheckSpec {
  /** `GET http://127.0.0.1:$PORT<path>` must answer 2xx. */
  readonly path?: string;
  /** Or: this command, run in the sandbox, must exit 0. */
  readonly command?: readonly string[];
  /** Between checks. @default 10 (5..300) */
  readonly intervalSeconds?: number;
  /** One check's limit. @default 5 (2..60) */
  readonly timeoutSeconds?: number;
  /** Failures in a row that make the sandbox unhealthy. @default 3 (1..10) */
  readonly retries?: number;
  /** Failures during this time after the start do not count. @default 0 (0..300) */
  readonly startPeriodSeconds?: number;
}

export type ResolvedHealthCheck = Required<Omit<HealthCheckSpec, 'path' | 'command'>> &
  Pick<HealthCheckSpec, 'path' | 'command'>;

/** The check with every default filled in. */
export function resolveHealthCheck(spec: HealthCheckSpec): ResolvedHealthCheck {
  return {
    ...(spec.path === undefined ? {} : { path: spec.path }),
    ...(spec.command === undefined ? {} : { command: spec.command }),
    intervalSeconds: spec.intervalSeconds ?? 10,
    timeoutSeconds: spec.timeoutSeconds ?? 5,
    retries: spec.retries ?? 3,
    startPeriodSeconds: spec.startPeriodSeconds ?? 0,
  };
}
