/**
 * One HTTP exchange with the API: the URL under the base (which may carry a stage path), the
 * credentials (a bearer token or a SigV4 signature), the body as bytes (JSON, or raw file bytes), the
 * answer read as JSON or as bytes, and any answer that is not a success turned into a typed error.
 * Nothing here parses with a schema: the client trusts the API's shapes and only guards against
 * answers that are not JSON at all.
 */
import { apiErrorOf, isErrorCode, NetworkError, type SandboxApiError } from './errors.js';
import { type RequestSigner, type SigV4Options, sigV4Signer } from './sigv4.js';
import { sleep } from './sleep.js';
import type { Problem } from './types.js';

/** How the client authenticates: local mode's bearer token, or SigV4 for API Gateway's IAM auth. */
export type ClientAuth = { readonly token: string } | { readonly sigv4: SigV4Options };

export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

export interface TransportOptions {
  readonly baseUrl: string | URL;
  readonly auth?: ClientAuth;
  readonly fetch?: FetchLike;
  /** More headers for every request. */
  readonly headers?: Readonly<Record<string, string>>;
}

export type QueryValue = string | number | boolean | undefined;

/** A body sent as it is (a file's bytes), with its media type. */
export interface RawBody {
  readonly bytes: Uint8Array;
  readonly contentType: string;
}

export interface Call {
  readonly method: 'GET' | 'PUT' | 'POST' | 'DELETE';
  /** The path under the base URL, its segments already encoded. */
  readonly path: string;
  readonly query?: Readonly<Record<string, QueryValue>>;
  /** A body sent as JSON. */
  readonly body?: unknown;
  /** A body of raw bytes, sent instead of `body`. */
  readonly raw?: RawBody;
  readonly headers?: Readonly<Record<string, string>>;
  readonly signal?: AbortSignal;
  /** How many more times a network error or a 503 is tried again; only for idempotent calls. */
  readonly retries?: number;
  /** Error statuses whose JSON body is an answer, not a problem (503 of the deep health check). */
  readonly answerStatuses?: readonly number[];
}

const MAX_BACKOFF_MS = 5_000;

/** The HTTP exchanges of one client: shared base URL, credentials and fetch. */
export class Transport {
  readonly baseUrl: URL;
  private readonly fetch: FetchLike;
  private readonly signer: RequestSigner | null;

  constructor(private readonly options: TransportOptions) {
    this.baseUrl = new URL(options.baseUrl);
    this.fetch = options.fetch ?? ((input, init) => fetch(input, init));
    this.signer = options.auth && 'sigv4' in options.auth ? sigV4Signer(options.auth.sigv4) : null;
  }

  /** Sends `call` and answers its JSON body; throws `SandboxApiError` or `NetworkError`. */
  async json<T>(call: Call): Promise<T> {
    const response = await this.send(call, 'application/json');
    const text = await readText(response);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw unexpectedAnswer(response, `the answer is not JSON: ${snippet(text)}`);
    }
    // An error status taken as an answer is still an error when its body is a problem.
    if (!response.ok && isErrorCode((body as { code?: unknown } | null)?.code))
      throw errorOfText(response, text);
    return body as T;
  }

  /** Sends `call` and answers the response with its body read as bytes (a file). */
  async bytes(call: Call, accept = '*/*'): Promise<{ response: Response; body: Uint8Array }> {
    const response = await this.send(call, accept);
    try {
      return { response, body: new Uint8Array(await response.arrayBuffer()) };
    } catch (error) {
      throw new NetworkError(response.url || 'the API', { cause: error });
    }
  }

  /** Sends `call` and answers the response with its body unread: an event stream. */
  async stream(call: Call): Promise<Response> {
    const response = await this.send(call, 'text/event-stream');
    const type = response.headers.get('content-type') ?? '';
    if (!type.toLowerCase().startsWith('text/event-stream')) {
      const text = await readText(response);
      throw unexpectedAnswer(
        response,
        `the answer is not an event stream (${type || 'no content type'}): ${snippet(text)}`,
      );
    }
    return response;
  }

  private async send(call: Call, accept: string): Promise<Response> {
    const attempts = 1 + Math.max(0, call.retries ?? 0);
    for (let attempt = 1; ; attempt += 1) {
      try {
        const response = await this.once(call, accept);
        if (response.ok || call.answerStatuses?.includes(response.status)) return response;
        throw await errorOf(response);
      } catch (error) {
        const retryable = error instanceof NetworkError || (isStatus(error, 503) && !call.signal?.aborted);
        if (!retryable || attempt >= attempts) throw error;
        const after = (error as Partial<SandboxApiError>).retryAfterSeconds;
        await sleep(after != null ? after * 1000 : backoffMs(attempt), call.signal);
      }
    }
  }

  private async once(call: Call, accept: string): Promise<Response> {
    const url = this.urlOf(call);
    const payload = payloadOf(call);
    // One byte array is both signed and sent, so the signature covers exactly what goes out.
    const body = payload?.bytes;
    let headers: Record<string, string> = {
      accept,
      ...this.options.headers,
      ...call.headers,
      ...(payload ? { 'content-type': payload.contentType } : {}),
    };
    const auth = this.options.auth;
    if (auth && 'token' in auth) headers.authorization = `Bearer ${auth.token}`;
    if (this.signer) headers = await this.signer({ method: call.method, url, headers, body });
    try {
      return await this.fetch(url.href, {
        method: call.method,
        headers,
        ...(body === undefined ? {} : { body }),
        ...(call.signal ? { signal: call.signal } : {}),
      });
    } catch (error) {
      if (call.signal?.aborted) throw error;
      throw new NetworkError(url.href, { cause: error });
    }
  }

  /** The full URL: the base's path (an API Gateway stage) and then the call's path. */
  private urlOf(call: Pick<Call, 'path' | 'query'>): URL {
    const url = new URL(this.baseUrl);
    url.pathname = `${url.pathname.replace(/\/+$/, '')}${call.path}`;
    // RFC 3986 encoding (a space as %20, not URLSearchParams' +): what SigV4 signs is what is sent.
    const pairs = Object.entries(call.query ?? {})
      .filter(([, value]) => value !== undefined)
      .map(([name, value]) => `${rfc3986(name)}=${rfc3986(String(value))}`);
    url.search = pairs.length > 0 ? `?${pairs.join('&')}` : '';
    return url;
  }
}

/** `encodeURIComponent` plus the characters RFC 3986 reserves that it leaves alone. */
function rfc3986(text: string): string {
  return encodeURIComponent(text).replace(
    /[!'()*]/g,
    (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/** The body of `call` as bytes: its raw body, or its JSON body encoded as UTF-8. */
function payloadOf(call: Call): RawBody | undefined {
  if (call.raw) return call.raw;
  if (call.body === undefined) return undefined;
  return { bytes: new TextEncoder().encode(JSON.stringify(call.body)), contentType: 'application/json' };
}

function isStatus(error: unknown, status: number): boolean {
  return typeof error === 'object' && error !== null && (error as { status?: unknown }).status === status;
}

/** Exponential backoff with jitter: about 250 ms, 500 ms, 1 s, ... up to 5 s. */
export function backoffMs(attempt: number): number {
  const ceiling = Math.min(MAX_BACKOFF_MS, 250 * 2 ** (attempt - 1));
  return ceiling / 2 + Math.random() * (ceiling / 2);
}

/** The body; a connection that breaks while it is read is a `NetworkError`. */
async function readText(response: Response): Promise<string> {
  try {
    return await response.text();
  } catch (error) {
    throw new NetworkError(response.url || 'the API', { cause: error });
  }
}

/** Seconds of a `Retry-After` header: delta-seconds or an HTTP date. */
export function retryAfterOf(headers: Headers): number | null {
  const value = headers.get('retry-after')?.trim();
  if (!value) return null;
  if (/^\d+$/.test(value)) return Number(value);
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - Date.now()) / 1000));
}

function requestIdOf(headers: Headers): string | null {
  // API Gateway's own answers (a refused signature): `apigw-requestid` from HTTP APIs.
  return (
    headers.get('x-request-id') ?? headers.get('apigw-requestid') ?? headers.get('x-amzn-requestid') ?? null
  );
}

function snippet(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  if (line.length === 0) return '(empty)';
  return line.length > 200 ? `${line.slice(0, 200)}...` : line;
}

/** An answer that is not what the API gives (a wrong body or missing header), as a typed error. */
export function unexpectedAnswer(response: Response, detail: string): SandboxApiError {
  return apiErrorOf({
    status: response.status,
    code: 'unexpected_response',
    detail,
    problem: null,
    retryAfterSeconds: retryAfterOf(response.headers),
    requestId: requestIdOf(response.headers),
  });
}

/** The typed error of an answer that is not a success: its problem body, or whatever it carried. */
async function errorOf(response: Response): Promise<SandboxApiError> {
  return errorOfText(response, await readText(response));
}

function errorOfText(response: Response, text: string): SandboxApiError {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return unexpectedAnswer(response, `${response.status} ${response.statusText}: ${snippet(text)}`.trim());
  }
  const fields = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
  if (isErrorCode(fields.code)) {
    const problem = body as Problem;
    return apiErrorOf({
      status: response.status,
      code: problem.code,
      detail: typeof problem.detail === 'string' ? problem.detail : problem.title,
      problem,
      retryAfterSeconds: retryAfterOf(response.headers),
      requestId: requestIdOf(response.headers),
    });
  }
  // A problem of a code this client does not know keeps its detail; API Gateway answers its own
  // refusals as {"message": "..."}.
  const detail =
    typeof fields.detail === 'string'
      ? fields.detail
      : typeof fields.message === 'string'
        ? fields.message
        : snippet(text);
  return response.status === 413 ? gatewayTooLarge(response, detail) : unexpectedAnswer(response, detail);
}

/**
 * API Gateway's own 413: a body whose base64 form does not fit Lambda's 6 MB payload never reaches
 * the control plane, which would have answered `payload_too_large` itself. Same code, so callers
 * handle one error.
 */
function gatewayTooLarge(response: Response, detail: string): SandboxApiError {
  return apiErrorOf({
    status: 413,
    code: 'payload_too_large',
    detail: `The body is too large for the API (${detail}); on AWS a file is at most 4 MiB (4,194,304 bytes).`,
    problem: null,
    retryAfterSeconds: null,
    requestId: requestIdOf(response.headers),
  });
}
