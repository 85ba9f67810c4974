/**
 * SigV4 signing for API Gateway (no AWS access here): the client signs requests to a local server
 * with static credentials, and signing what the server received again with `SignatureV4`, at the
 * same date, gives the same signature: the client signs exactly what it sends.
 */
import { createHash, randomUUID } from 'node:crypto';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SandboxClient } from '../../src/client/index.js';
import { json, type RecordedRequest, type StubServer, startStubServer } from './stub-server.js';

const REGION = 'eu-west-1';
const CREDENTIALS = {
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
  sessionToken: 'session-token-example',
};
const AUTHORIZATION =
  /^AWS4-HMAC-SHA256 Credential=(\w+)\/(\d{8})\/([a-z0-9-]+)\/execute-api\/aws4_request, SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$/;

/** The amz date (20261122T010203Z) as a Date. */
function dateOf(amzDate: string): Date {
  const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate)!;
  return new Date(`${match[1]}-${match[2]}-${match[3]}T${match[4]}:${match[5]}:${match[6]}Z`);
}

/** Signs the request the server received, with the headers its signature names, at its date. */
async function resign(request: RecordedRequest, port: number, secretAccessKey: string): Promise<string> {
  const signedHeaders = AUTHORIZATION.exec(String(request.headers.authorization))![4]!.split(';');
  const headers = Object.fromEntries(signedHeaders.map((name) => [name, String(request.headers[name])]));
  const url = new URL(request.url, `http://127.0.0.1:${port}`);
  const query: Record<string, string> = Object.fromEntries(url.searchParams);
  const signer = new SignatureV4({
    service: 'execute-api',
    region: REGION,
    credentials: { ...CREDENTIALS, secretAccessKey },
    sha256: Hash.bind(null, 'sha256'),
  });
  const signed = await signer.sign(
    {
      method: request.method,
      protocol: 'http:',
      hostname: '127.0.0.1',
      port,
      path: url.pathname,
      query,
      headers,
      ...(request.bytes.length > 0 ? { body: request.bytes } : {}),
    },
    { signingDate: dateOf(String(request.headers['x-amz-date'])) },
  );
  return String(signed.headers.authorization);
}

describe('SigV4 signing', () => {
  let stub: StubServer;
  let port: number;
  beforeAll(async () => {
    stub = await startStubServer();
    port = Number(new URL(stub.url).port);
  });
  afterAll(async () => {
    await stub?.close();
  });
  beforeEach(() => {
    stub.requests.length = 0;
  });

  it('signs each request as SignatureV4 does, body, query and stage path included', async () => {
    const client = new SandboxClient({
      baseUrl: `${stub.url}/prod`,
      auth: { sigv4: { region: REGION, credentials: CREDENTIALS } },
    });
    const chatId = randomUUID();
    stub.answer(json(200, { sandbox: {}, created: false }), json(200, { items: [], nextCursor: null }));
    await client.getOrCreate(chatId, { agentId: 'agent-a', metadata: { team: 'search' } });
    await client.list({ status: ['running', 'provisioning'], limit: 2 });

    expect(stub.requests.map((request) => request.url)).toEqual([
      `/prod/v1/chats/${chatId}/sandbox`,
      '/prod/v1/sandboxes?status=running%2Cprovisioning&limit=2',
    ]);
    for (const request of stub.requests) {
      const match = AUTHORIZATION.exec(String(request.headers.authorization));
      expect(match, String(request.headers.authorization)).not.toBeNull();
      const [, keyId, day, region, signedHeaders] = match!;
      expect(keyId).toBe(CREDENTIALS.accessKeyId);
      expect(region).toBe(REGION);
      expect(day).toBe(String(request.headers['x-amz-date']).slice(0, 8));
      expect(signedHeaders!.split(';')).toEqual(expect.arrayContaining(['host', 'x-amz-date']));
      expect(request.headers['x-amz-security-token']).toBe(CREDENTIALS.sessionToken);
      expect(request.headers['x-amz-content-sha256']).toBe(
        createHash('sha256').update(request.body).digest('hex'),
      );
      expect(await resign(request, port, CREDENTIALS.secretAccessKey)).toBe(request.headers.authorization);
      expect(await resign(request, port, 'another-secret')).not.toBe(request.headers.authorization);
    }
    expect(stub.requests[0]!.headers['content-type']).toBe('application/json');
    expect(stub.requests[0]!.headers.authorization).not.toContain('Bearer');
  });

  it('signs the raw bytes of a file as sent, and the text of the history as UTF-8', async () => {
    const client = new SandboxClient({
      baseUrl: `${stub.url}/prod`,
      auth: { sigv4: { region: REGION, credentials: CREDENTIALS } },
    });
    const chatId = randomUUID();
    const written = { file: {}, created: true };
    stub.answer(json(201, written), json(200, written));
    // Not valid UTF-8: a text round trip on the way would change these bytes and the hash.
    const bytes = Uint8Array.from({ length: 256 }, (_, index) => 255 - index);
    await client.putFile(chatId, 'a b/ü.bin', bytes, { ifNoneMatch: true });
    await client.appendHistory(chatId, 'grüß dich\n');

    const [file, history] = stub.requests;
    expect(file!.url).toBe(`/prod/v1/chats/${chatId}/file?path=a%20b%2F%C3%BC.bin`);
    expect(file!.bytes.equals(bytes)).toBe(true);
    expect(file!.headers['content-type']).toBe('application/octet-stream');
    expect(history!.bytes.equals(Buffer.from('grüß dich\n', 'utf8'))).toBe(true);
    expect(history!.headers['content-type']).toBe('text/markdown; charset=utf-8');
    for (const request of [file!, history!]) {
      expect(request.headers['x-amz-content-sha256']).toBe(
        createHash('sha256').update(request.bytes).digest('hex'),
      );
      expect(await resign(request, port, CREDENTIALS.secretAccessKey)).toBe(request.headers.authorization);
    }
    expect(AUTHORIZATION.exec(String(file!.headers.authorization))![4]!.split(';')).toContain(
      'if-none-match',
    );
  });

  it("takes credentials from the AWS SDK's default chain when none are given", async () => {
    const saved = { ...process.env };
    Object.assign(process.env, {
      AWS_ACCESS_KEY_ID: 'AKIDFROMENV',
      AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
    });
    delete process.env.AWS_SESSION_TOKEN;
    delete process.env.AWS_PROFILE;
    try {
      const client = new SandboxClient({ baseUrl: stub.url, auth: { sigv4: { region: REGION } } });
      stub.answer(json(200, { status: 'ok', version: 'x' }));
      await client.health();
      expect(String(stub.requests[0]!.headers.authorization)).toMatch(/Credential=AKIDFROMENV\//);
      expect(stub.requests[0]!.headers['x-amz-security-token']).toBeUndefined();
    } finally {
      process.env = saved;
    }
  });
});
