/**
 * Routes as data: each route states its method, path, inputs (zod schemas), answers and problem codes
 * once, and that one definition both validates requests (in `mount`) and describes the route in the
 * OpenAPI document (src/http/openapi.ts). The document can therefore not drift from the server.
 */
import type { Context, Handler, MiddlewareHandler } from 'hono';
import type { ErrorCode } from '../core/errors.js';
import * as z from '../zod.js';
import { requestHasBody } from './body.js';
import { fieldErrors, invalidRequest } from './validation.js';

type Schema = z.ZodMiniType;
type ObjectSchema = z.ZodMiniObject;

export interface HeaderSpec {
  readonly description: string;
  readonly schema: Schema;
}

/** `Retry-After` (seconds), as every 429 and 503 carries it. */
export const RETRY_AFTER: Readonly<Record<string, HeaderSpec>> = {
  'Retry-After': { description: 'Seconds to wait before retrying', schema: z.int().check(z.minimum(0)) },
};

export interface AnswerSpec {
  readonly description: string;
  /** An answer without a body (`204`, `304`). */
  readonly empty?: boolean;
  /** JSON body of a success answer. */
  readonly schema?: Schema;
  /** A success answer that is not JSON (`text/event-stream`): its media type. */
  readonly mediaType?: string;
  /** Problem codes a 4xx/5xx answer carries; its body is a Problem with `code` in this list. */
  readonly problems?: readonly ErrorCode[];
  readonly headers?: Readonly<Record<string, HeaderSpec>>;
}

export interface RouteSpec<
  P extends ObjectSchema | undefined = ObjectSchema | undefined,
  Q extends ObjectSchema | undefined = ObjectSchema | undefined,
  B extends Schema | undefined = Schema | undefined,
> {
  readonly method: 'get' | 'put' | 'post' | 'delete';
  /** OpenAPI form: `/v1/chats/{chatId}/sandbox`. */
  readonly path: string;
  readonly operationId: string;
  readonly tags: readonly string[];
  readonly summary: string;
  readonly description?: string;
  /** False for the routes without authentication. @default true */
  readonly authenticated?: boolean;
  /** Kept for older callers; new ones use another route. */
  readonly deprecated?: boolean;
  /** Request headers the route reads (beside authentication). */
  readonly requestHeaders?: Readonly<Record<string, HeaderSpec>>;
  readonly params?: P;
  readonly query?: Q;
  /** A JSON body (`application/json`); `required` false lets a request omit it. */
  readonly body?: { readonly schema: B; readonly required: boolean };
  /** A body of raw bytes in any media type, which the handler reads itself (file contents). */
  readonly rawBody?: { readonly description: string };
  /** Middleware that runs before validation (body limits, media types). */
  readonly before?: readonly MiddlewareHandler[];
  readonly answers: Readonly<Record<number, AnswerSpec>>;
}

type Output<S> = S extends Schema ? z.output<S> : undefined;

/** What a handler receives: the validated inputs. */
export interface RouteInput<S extends RouteSpec> {
  readonly params: Output<S['params']>;
  readonly query: Output<S['query']>;
  readonly body: S['body'] extends { schema: infer B } ? Output<B> | undefined : undefined;
}

export type RouteHandler<S extends RouteSpec, C extends Context = Context> = (
  c: C,
  input: RouteInput<S>,
) => Response | Promise<Response>;

/** Declares a route; only for type inference. */
export function defineRoute<const S extends RouteSpec>(spec: S): S {
  return spec;
}

/** `/v1/chats/{chatId}` -> `/v1/chats/:chatId`. */
export function honoPath(path: string): string {
  return path.replace(/\{([A-Za-z0-9_]+)\}/g, ':$1');
}

/** Unwraps optional/default wrappers to the schema of a query value. */
function innerType(schema: Schema): string {
  let current = schema as unknown as { _zod: { def: { type: string; innerType?: unknown } } };
  while (current._zod.def.innerType && ['optional', 'default', 'nullable'].includes(current._zod.def.type)) {
    current = current._zod.def.innerType as typeof current;
  }
  return current._zod.def.type;
}

const NUMBER_TEXT = /^-?(?:0|[1-9]\d{0,15})(?:\.\d+)?$/;

/**
 * Query values arrive as text; a parameter declared as a number is read as one when the text is a
 * plain decimal number (no exponent, no spaces, no empty string), and left as text otherwise, so the
 * schema refuses it.
 */
function queryValues(c: Context, schema: ObjectSchema): Record<string, unknown> {
  const shape = schema._zod.def.shape as Record<string, Schema>;
  const values: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(c.req.query())) {
    const field = shape[name];
    const numeric = field !== undefined && ['number', 'int'].includes(innerType(field));
    values[name] = numeric && NUMBER_TEXT.test(value) ? Number(value) : value;
  }
  return values;
}

/**
 * Turns a route definition into a Hono handler: validates path, query and body (every failure listed
 * in one 422), then calls `handler` with the parsed values.
 */
export function routeHandler<S extends RouteSpec>(spec: S, handler: RouteHandler<S>): Handler {
  return async (c) => {
    const errors: { path: string; message: string }[] = [];
    const parse = (schema: Schema | undefined, input: unknown, target: string): unknown => {
      if (!schema) return undefined;
      const result = schema.safeParse(input);
      if (result.success) return result.data;
      errors.push(...fieldErrors(result.error, target));
      return undefined;
    };
    const params = parse(spec.params, c.req.param(), 'param');
    const query = parse(spec.query, spec.query ? queryValues(c, spec.query) : {}, 'query');
    let body: unknown;
    if (spec.body) {
      // The body middleware has parsed and cached the JSON body, or let a missing optional one through.
      const raw = await bodyOf(c);
      body = raw === undefined && !spec.body.required ? undefined : parse(spec.body.schema, raw, 'json');
    }
    if (errors.length > 0) throw invalidRequest(errors);
    return handler(c, { params, query, body } as RouteInput<S>);
  };
}

async function bodyOf(c: Context): Promise<unknown> {
  if (!requestHasBody(c.req.raw)) return undefined;
  return c.req.json();
}
