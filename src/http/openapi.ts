/**
 * The OpenAPI 3.1 document, built from the route definitions and the same zod schemas that validate
 * requests (JSON Schema 2020-12, which OpenAPI 3.1 uses as is).
 */
import * as z from '../zod.js';
import type { RouteSpec } from './route.js';

type Json = Record<string, unknown>;

export interface DocumentInfo {
  readonly title: string;
  readonly version: string;
  readonly description: string;
}

const COMPONENT = (id: string) => `#/components/schemas/${id}`;

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
  return list;
}

function answers(spec: RouteSpec): Json {
  const result: Json = {};
  for (const [status, answer] of Object.entries(spec.answers)) {
    const entry: Json = { description: answer.description };
    if (answer.headers) {
      entry.headers = Object.fromEntries(
        Object.entries(answer.headers).map(([name, header]) => [
          name,
          { description: header.description, schema: jsonSchema(header.schema) },
        ]),
      );
    }
    if (answer.schema) entry.content = { 'application/json': { schema: jsonSchema(answer.schema) } };
    if (answer.mediaType) entry.content = { [answer.mediaType]: {} };
    if (answer.problems) {
      entry.content = {
        'application/problem+json': {
          schema: {
            allOf: [
              { $ref: COMPONENT('Problem') },
              { type: 'object', properties: { code: { enum: [...answer.problems] } } },
            ],
          },
        },
      };
    }
    result[status] = entry;
  }
  return result;
}

/** The document for `routes`. */
export function openApiDocument(routes: readonly RouteSpec[], info: DocumentInfo): Json {
  const paths: Record<string, Json> = {};
  for (const spec of routes) {
    const operation: Json = {
      operationId: spec.operationId,
      tags: [...spec.tags],
      summary: spec.summary,
      ...(spec.description ? { description: spec.description } : {}),
      ...(spec.authenticated === false ? { security: [] } : {}),
    };
    const list = parameters(spec);
    if (list.length > 0) operation.parameters = list;
    if (spec.body) {
      operation.requestBody = {
        required: spec.body.required,
        content: { 'application/json': { schema: jsonSchema(spec.body.schema as z.ZodMiniType) } },
      };
    }
    operation.responses = answers(spec);
    paths[spec.path] = { ...paths[spec.path], [spec.method]: operation };
  }
  const registered = z.toJSONSchema(z.globalRegistry, {
    io: 'input',
    uri: COMPONENT,
    unrepresentable: 'any',
  }) as {
    schemas: Record<string, Json>;
  };
  return {
    openapi: '3.1.0',
    info,
    paths,
    components: {
      schemas: Object.fromEntries(
        Object.entries(registered.schemas).map(([id, schema]) => [id, withoutDialect(schema)]),
      ),
      securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer' } },
    },
    security: [{ bearerAuth: [] }],
  };
}
