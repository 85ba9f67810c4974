/**
 * SigV4 signing for API Gateway's IAM authorization (service `execute-api`), with
 * `@smithy/signature-v4`. Its modules, and the AWS SDK's credential provider chain, are loaded with
 * dynamic imports on the first signed request, so clients with a bearer token never load them.
 */

/** AWS credentials; `sessionToken` for temporary ones. */
export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
  readonly expiration?: Date;
}

export interface SigV4Options {
  readonly region: string;
  /** Fixed credentials or a provider of them; absent, the AWS SDK's default provider chain. */
  readonly credentials?: AwsCredentials | (() => Promise<AwsCredentials>);
  /** The signing service; API Gateway's is `execute-api`. */
  readonly service?: string;
}

/** What a signed request needs to carry: the method, URL, headers and the body as sent. */
export interface RequestToSign {
  readonly method: string;
  readonly url: URL;
  readonly headers: Readonly<Record<string, string>>;
  /** The very bytes fetch sends; the payload hash (`x-amz-content-sha256`) is of these. */
  readonly body: Uint8Array | undefined;
}

/** Signs requests; returns the headers to send (the given ones plus `authorization` and `x-amz-*`). */
export type RequestSigner = (request: RequestToSign) => Promise<Record<string, string>>;

/** A signer for `options`; the signing modules load on its first use, once. */
export function sigV4Signer(options: SigV4Options): RequestSigner {
  let signer: Promise<SignerLike> | null = null;
  return async (request) => {
    if (!signer) {
      signer = loadSigner(options);
      // A failed load (no credentials found) is tried again by the next request.
      signer.catch(() => {
        signer = null;
      });
    }
    const signed = await (await signer).sign(toHttpRequest(request), {});
    return Object.fromEntries(Object.entries(signed.headers).map(([name, value]) => [name, String(value)]));
  };
}

interface SmithyRequest {
  method: string;
  protocol: string;
  hostname: string;
  port?: number;
  path: string;
  query: Record<string, string | string[]>;
  headers: Record<string, string>;
  body?: Uint8Array;
}

interface SignerLike {
  sign(
    request: SmithyRequest,
    options: { signingDate?: Date },
  ): Promise<{ headers: Record<string, unknown> }>;
}

/** The request in `@smithy/signature-v4`'s shape; `host` is signed as fetch will send it. */
function toHttpRequest(request: RequestToSign): SmithyRequest {
  const query: Record<string, string | string[]> = {};
  for (const [name, value] of request.url.searchParams) {
    const held = query[name];
    query[name] = held === undefined ? value : [...(Array.isArray(held) ? held : [held]), value];
  }
  return {
    method: request.method,
    protocol: request.url.protocol,
    hostname: request.url.hostname,
    ...(request.url.port ? { port: Number(request.url.port) } : {}),
    path: request.url.pathname,
    query,
    headers: { ...request.headers, host: request.url.host },
    ...(request.body === undefined ? {} : { body: request.body }),
  };
}

async function loadSigner(options: SigV4Options): Promise<SignerLike> {
  const [{ SignatureV4 }, { Hash }] = await Promise.all([
    import('@smithy/signature-v4'),
    import('@smithy/hash-node'),
  ]);
  const credentials = options.credentials ?? (await defaultCredentials());
  return new SignatureV4({
    service: options.service ?? 'execute-api',
    region: options.region,
    credentials,
    sha256: Hash.bind(null, 'sha256'),
  });
}

/**
 * The AWS SDK's default credential chain (environment, SSO, shared files, process, web identity,
 * container, instance metadata): `defaultProvider` of `@aws-sdk/credential-provider-node`, which
 * `fromNodeProviderChain` of `@aws-sdk/credential-providers` wraps.
 * THE CLIENT'S ONE IMPORT OF AN `@aws-sdk` PACKAGE: loaded only when SigV4 signing is used without
 * explicit credentials.
 */
async function defaultCredentials(): Promise<() => Promise<AwsCredentials>> {
  const { defaultProvider } = await import('@aws-sdk/credential-provider-node');
  return defaultProvider();
}
