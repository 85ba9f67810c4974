/**
 * The OpenAPI 3.1 document, built from the route definitions and the same zod schemas that validate
 * requests (JSON Schema 2020-12, which OpenAPI 3.1 uses as is). What every operation can answer
 * whatever its route (500, 421 on a foreign host name, 401 without credentials, `X-Request-Id`) is
 * added here once; bounds that come from the deployment's configuration (profiles, idle timeouts,
 * lifetimes) are written into the served document with the configured values.
 */
import { globsSource } from '../core/env-policy.js';
import type { LifecycleConfig } from '../core/lifecycle.js';
import * as z from '../zod.js';
import type { AnswerSpec, RouteSpec } from './route.js';

type Json = Record<string, unknown>;

/** An entry of the document's `servers`. */
export interface ServerEntry {
  readonly url: string;
  readonly description: string;
  readonly variables?: Readonly<Record<string, { readonly default: string; readonly description: string }>>;
}

export interface DocumentOptions {
  readonly version: string;
  readonly servers: readonly ServerEntry[];
  /** The deployment's lifecycle settings; absent: the bounds every deployment shares. */
  readonly lifecycle?: LifecycleConfig;
  /**
   * False where no host path means anything (AWS): the document then refuses the compatibility
   * create's `volume_host_path` outright. @default true
   */
  readonly hostPaths?: boolean;
}

export const DOCUMENT_INFO = {
  title: 'Agent sandbox control plane',
  description:
    "Per-chat sandboxes for hosted AI agents: get or create a chat's sandbox, keep it alive, list, delete, follow its logs and lifecycle events. Errors are RFC 9457 problem details (`application/problem+json`) with a machine `code`. Every answer carries `X-Request-Id` (the one sent, if it matches `^[A-Za-z0-9._:@=+/-]{1,128}$`, or a new one). Authentication is a bearer token (local mode, or SANDBOX_API_TOKENS on AWS) or AWS Signature Version 4 (API Gateway IAM auth).",
  license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
} as const;

/** Where a deployment is reached by default: local mode's address and API Gateway's URL form. */
export const DEFAULT_SERVERS: readonly ServerEntry[] = [
  { url: 'http://127.0.0.1:8123', description: 'Local mode (`npm start`)' },
  {
    url: 'https://{apiId}.execute-api.{region}.amazonaws.com',
    description: 'AWS: the ApiUrl output of the service stack',
    variables: {
      apiId: { default: 'abcdef1234', description: 'The HTTP API id' },
      region: { default: 'eu-west-1', description: 'The stack region' },
    },
  },
];

const TAGS = [
  { name: 'sandboxes', description: "A chat's sandbox: get or create, status, keepalive, delete, list." },
  { name: 'logs', description: "The output of a chat's sandbox." },
  { name: 'storage', description: "A chat's files and history, with or without a sandbox." },
  { name: 'events', description: 'Lifecycle events.' },
  { name: 'usage', description: 'Live counts, limits and the usage ledger.' },
  { name: 'health', description: 'Liveness of the control plane.' },
  { name: 'compatibility', description: 'Routes of the service this one replaces, as a migration aid.' },
  { name: 'meta', description: 'This document.' },
];

const COMPONENT = (id: string) => `#/components/schemas/${id}`;

const REQUEST_ID_HEADER = {
  'X-Request-Id': {
    description: "The request's id: the caller's `X-Request-Id` if it was valid, else a new one. Logged.",
    schema: { type: 'string', pattern: '^[A-Za-z0-9._:@=+/-]{1,128}$' },
  },
};

/** Answers every operation can give, beside its own. */
const COMMON_ANSWERS: Readonly<Record<number, AnswerSpec>> = {
  421: {
    description: 'Local mode only: the Host header names a host this server does not answer for',
    problems: ['misdirected_request'],
  },
  500: { description: 'An unexpected failure; the body says nothing internal', problems: ['internal_error'] },
};

const UNAUTHORIZED: AnswerSpec = {
  description: 'Missing or invalid credentials',
  problems: ['unauthorized'],
  headers: {
    'WWW-Authenticate': { description: 'The scheme to authenticate with: `Bearer`', schema: z.string() },
  },
};

/** zod's output less what a schema inside an OpenAPI document does not carry (`$schema`, `$id`). */
function withoutDialect(schema: Json): Json {
  const { $schema: _dialect, $id: _id, ...rest } = schema;
  return rest;
}

/** A schema as JSON Schema, referring to registered schemas by component reference. */
function jsonSchema(schema: z.ZodMiniType): Json {
  const id = z.globalRegistry.get(schema)?.id;
  if (id) return { $ref: COMPONENT(id) };
  return withoutDialect(z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Json);
}

function isOptional(schema: z.ZodMiniType): boolean {
  const type = (schema as unknown as { _zod: { def: { type: string } } })._zod.def.type;
  return type === 'optional' || type === 'default';
}

function parameters(spec: RouteSpec): Json[] {
  const list: Json[] = [];
  for (const [location, object] of [
    ['path', spec.params],
    ['query', spec.query],
  ] as const) {
    if (!object) continue;
    for (const [name, field] of Object.entries(object._zod.def.shape as Record<string, z.ZodMiniType>)) {
      const schema = jsonSchema(field);
      const { description, ...rest } = schema;
      list.push({
        name,
        in: location,
        required: location === 'path' || !isOptional(field),
        ...(typeof description === 'string' ? { description } : {}),
        schema: rest,
      });
    }
  }
  for (const [name, header] of Object.entries(spec.requestHeaders ?? {})) {
    list.push({
      name,
      in: 'header',
      required: false,
      description: header.description,
      schema: jsonSchema(header.schema),
    });
  }
  return list;
}

function answer(status: number, spec: AnswerSpec): Json {
  const entry: Json = { description: spec.description };
  entry.headers = {
    ...REQUEST_ID_HEADER,
    ...Object.fromEntries(
      Object.entries(spec.headers ?? {}).map(([name, header]) => [
        name,
        { description: header.description, required: true, schema: jsonSchema(header.schema) },
      ]),
    ),
  };
  if (spec.schema) entry.content = { 'application/json': { schema: jsonSchema(spec.schema) } };
  if (spec.mediaType) entry.content = { [spec.mediaType]: { schema: { type: 'string' } } };
  if (spec.problems) {
    entry.content = {
      'application/problem+json': {
        schema: {
          allOf: [
            { $ref: COMPONENT('Problem') },
            { type: 'object', properties: { status: { const: status }, code: { enum: [...spec.problems] } } },
          ],
        },
      },
    };
  }
  return entry;
}

function answers(spec: RouteSpec): Json {
  const all: Record<number, AnswerSpec> = { ...spec.answers };
  if (spec.authenticated !== false) all[401] ??= UNAUTHORIZED;
  for (const [status, common] of Object.entries(COMMON_ANSWERS)) all[Number(status)] ??= common;
  return Object.fromEntries(
    Object.entries(all)
      .sort(([a], [b]) => Number(a) - Number(b))
      .map(([status, spec]) => [status, answer(Number(status), spec)]),
  );
}

function operation(spec: RouteSpec): Json {
  const result: Json = {
    operationId: spec.operationId,
    tags: [...spec.tags],
    summary: spec.summary,
    ...(spec.description ? { description: spec.description } : {}),
    ...(spec.authenticated === false ? { security: [] } : {}),
    ...(spec.deprecated ? { deprecated: true } : {}),
  };
  const list = parameters(spec);
  if (list.length > 0) result.parameters = list;
  if (spec.body) {
    result.requestBody = {
      required: spec.body.required,
      content: { 'application/json': { schema: jsonSchema(spec.body.schema as z.ZodMiniType) } },
    };
  }
  if (spec.rawBody) {
    result.requestBody = {
      required: true,
      description: spec.rawBody.description,
      content: { '*/*': { schema: { type: 'string', contentMediaType: 'application/octet-stream' } } },
    };
  }
  result.responses = answers(spec);
  return result;
}

/** Writes the deployment's lifecycle bounds into the request schemas that depend on them. */
function configure(schemas: Record<string, Json>, lifecycle: LifecycleConfig): void {
  const properties = (id: string) => (schemas[id]?.properties ?? {}) as Record<string, Json>;
  const create = properties('GetOrCreateRequest');
  const idle = {
    minimum: lifecycle.minIdleTimeoutSeconds,
    maximum: lifecycle.maxIdleTimeoutSeconds,
  };
  if (create.profile)
    Object.assign(create.profile, { enum: [...lifecycle.profiles], default: lifecycle.defaultProfile });
  if (create.idleTimeoutSeconds) {
    Object.assign(create.idleTimeoutSeconds, idle, { default: lifecycle.defaultIdleTimeoutSeconds });
  }
  if (create.maxLifetimeSeconds) {
    Object.assign(create.maxLifetimeSeconds, {
      minimum: lifecycle.minIdleTimeoutSeconds,
      maximum: lifecycle.maxLifetimeCapSeconds,
      default: lifecycle.defaultMaxLifetimeSeconds,
    });
  }
  restrictEnvByProfile(schemas.GetOrCreateRequest, lifecycle);
  const keepalive = properties('KeepaliveRequest');
  if (keepalive.idleTimeoutSeconds) Object.assign(keepalive.idleTimeoutSeconds, idle);
}

/**
 * A strict profile's allow-list as a condition on `env`: when the request names that profile (or
 * names none and it is the default), each env name must also match the list.
 */
function restrictEnvByProfile(request: Json | undefined, lifecycle: LifecycleConfig): void {
  if (!request) return;
  const conditions = Object.entries(lifecycle.envAllowLists ?? {}).map(([profile, patterns]) => {
    const named = { properties: { profile: { const: profile } }, required: ['profile'] };
    return {
      if:
        profile === lifecycle.defaultProfile ? { anyOf: [named, { not: { required: ['profile'] } }] } : named,
      // biome-ignore lint/suspicious/noThenProperty: JSON Schema's if/then, not a thenable.
      then: { properties: { env: { propertyNames: { pattern: globsSource(patterns) } } } },
    };
  });
  if (conditions.length > 0) request.allOf = conditions;
}

/** The compatibility create's `volume_host_path` where no host path is accepted. */
function refuseHostPaths(schemas: Record<string, Json>): void {
  const properties = schemas.CompatCreateRequest?.properties as Record<string, Json> | undefined;
  if (properties?.volume_host_path) {
    properties.volume_host_path = {
      not: {},
      description:
        "Not accepted by this deployment: each chat's directory is on the file system the stack manages.",
    };
  }
}

/** The document for `routes`. */
export function openApiDocument(routes: readonly RouteSpec[], options: DocumentOptions): Json {
  const paths: Record<string, Json> = {};
  for (const spec of routes) {
    paths[spec.path] = { ...paths[spec.path], [spec.method]: operation(spec) };
  }
  const registered = z.toJSONSchema(z.globalRegistry, {
    io: 'input',
    uri: COMPONENT,
    unrepresentable: 'any',
  }) as {
    schemas: Record<string, Json>;
  };
  const schemas = Object.fromEntries(
    Object.entries(registered.schemas)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([id, schema]) => [id, withoutDialect(schema)]),
  );
  if (options.lifecycle) configure(schemas, options.lifecycle);
  if (options.hostPaths === false) refuseHostPaths(schemas);
  return {
    openapi: '3.1.0',
    info: { ...DOCUMENT_INFO, version: options.version },
    servers: [...options.servers],
    tags: TAGS.filter((tag) => routes.some((route) => route.tags.includes(tag.name))),
    paths,
    components: {
      schemas,
      securitySchemes: {
        bearerAuth: {
          type: 'http',
          scheme: 'bearer',
          description:
            "Local mode: the data folder's `api-token` (or SANDBOX_API_TOKEN). AWS: a token configured in SANDBOX_API_TOKENS, when the stack allows tokens.",
        },
        sigv4: {
          type: 'apiKey',
          name: 'Authorization',
          in: 'header',
          description:
            'AWS Signature Version 4 for service `execute-api` (API Gateway IAM authorization): the signing principal is the tenant. Sign with the AWS SDK (the typed client and `sandboxctl --sigv4` do).',
          'x-amazon-apigateway-authtype': 'awsSigv4',
        },
      },
    },
    security: [{ bearerAuth: [] }, { sigv4: [] }],
  };
}
