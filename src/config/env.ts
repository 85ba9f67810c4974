/**
 * Reading configuration from the environment: zod/mini schemas per variable, every problem reported
 * at once under the variable's name, so a bad deployment fails at its first cold start (or `npm
 * start` at once) saying what to fix.
 */
import * as z from '../zod.js';

/** One or more variables are missing or malformed; `problems` name each one. */
export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration: ${problems.join('; ')}`);
    this.name = 'ConfigError';
  }
}

type Shape = Record<string, z.ZodMiniType>;
type Values<S extends Shape> = { -readonly [K in keyof S]: z.output<S[K]> };

/**
 * A part of the configuration: the variables it reads, the relations between them (each problem
 * named by the variable that breaks it), and what it builds from them.
 */
export interface Section<S extends Shape, T> {
  readonly shape: S;
  readonly crossChecks?: (values: Values<S>) => string[];
  readonly build: (values: Values<S>) => T;
}

export function section<S extends Shape, T>(spec: Section<S, T>): Section<S, T> {
  return spec;
}

/**
 * Any section, its value types erased (`never` takes every section's own); each section's functions
 * are type-checked where the section is defined, against its own shape.
 */
interface AnySection {
  readonly shape: Shape;
  readonly crossChecks?: (values: never) => string[];
  readonly build: (values: never) => unknown;
}

type Built<M extends Record<string, AnySection>> = { [K in keyof M]: ReturnType<M[K]['build']> };

/** Parses several sections from one environment, reporting every problem of all of them at once. */
export function parseSections<M extends Record<string, AnySection>>(
  env: Readonly<Record<string, string | undefined>>,
  sections: M,
): Built<M> {
  const shape: Shape = {};
  for (const part of Object.values(sections)) Object.assign(shape, part.shape);
  const parsed = z.object(shape).safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`));
  }
  const values = parsed.data as never;
  const problems = Object.values(sections).flatMap((part) => part.crossChecks?.(values) ?? []);
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.fromEntries(
    Object.entries(sections).map(([name, part]) => [name, part.build(values)]),
  ) as Built<M>;
}

const required = (issue: { input: unknown }) => (issue.input === undefined ? 'is required' : undefined);

/** A required, non-empty string (trimmed). */
export const text = z.pipe(
  z.string({ error: required }),
  z.pipe(
    z.transform((value: string) => value.trim()),
    z.string().check(z.minLength(1, 'must not be empty')),
  ),
);

/** An optional string; empty counts as unset. */
export const optionalText = z.optional(
  z.pipe(
    z.string(),
    z.transform((value) => (value.trim() === '' ? undefined : value.trim())),
  ),
);

/** A comma-separated list (empty items dropped). */
export const list = z.pipe(
  text,
  z.transform((value) =>
    value
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item.length > 0),
  ),
);

/** A whole number from text within [min, max], `fallback` when unset. */
export function integer(fallback: number, min: number, max: number) {
  return z._default(
    z.pipe(
      z.string().check(z.regex(/^-?\d+$/, 'must be a whole number')),
      z.pipe(
        z.transform((value: string) => Number(value)),
        z.number().check(z.minimum(min, `must be at least ${min}`), z.maximum(max, `must be at most ${max}`)),
      ),
    ),
    fallback,
  );
}

/** A JSON-valued variable: parsed, then checked against `schema`; `shape` tells the expected form. */
export function json<T extends z.ZodMiniType>(schema: T, shape: string) {
  return z.pipe(
    text,
    z.transform((value: string, ctx): z.output<T> => {
      let parsed: unknown;
      try {
        parsed = JSON.parse(value);
      } catch {
        ctx.issues.push({ code: 'custom', message: `must be JSON: ${shape}`, input: value });
        return z.NEVER;
      }
      const result = schema.safeParse(parsed);
      if (!result.success) {
        const detail = result.error.issues.map(
          (issue) => `${issue.path.join('.') || '(root)'} ${issue.message}`,
        );
        ctx.issues.push({ code: 'custom', message: `${shape}; ${detail.join(', ')}`, input: value });
        return z.NEVER;
      }
      return result.data as z.output<T>;
    }),
  );
}

/** An absolute path, `fallback` when unset. */
export function absolutePath(fallback: string) {
  return z._default(z.string().check(z.regex(/^\/[^\s]*$/, 'must be an absolute path')), fallback);
}

/** Env name patterns of a profile's allow-list (`APP_*`). */
export const envAllowList = z.optional(
  z.array(z.string().check(z.regex(/^[A-Z0-9_*]{1,128}$/, 'env name patterns: A-Z 0-9 _ and *'))),
);
