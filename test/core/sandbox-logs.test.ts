/**
 * The logs operation with a backend fake: which start it asks the backend for (tail, the position of
 * a cursor, or the beginning of a replacement session), and how it answers what the backend says.
 */
import { describe, expect, it } from 'vitest';
import { SandboxError } from '../../src/core/errors.js';
import { decodeLogCursor, encodeLogCursor } from '../../src/core/logs-cursor.js';
import {
  type LogReadRequest,
  type LogReadResult,
  LogsUnavailableError,
  type SandboxLogs,
} from '../../src/core/logs-port.js';
import type { Session } from '../../src/core/model.js';
import type { Logger, SessionStore } from '../../src/core/ports.js';
import { readSandboxLogs } from '../../src/core/sandbox-logs.js';

const KEY = { tenant: 'tenant-a', chatId: '11111111-1111-4111-8111-111111111111' };

function harness(sessionId: string | null, answer: () => Promise<LogReadResult>) {
  const requests: LogReadRequest[] = [];
  const warnings: string[] = [];
  const store = {
    get: async () => (sessionId ? ({ ...KEY, sessionId } as Session) : null),
  } as unknown as SessionStore;
  const logger: Logger = { info: () => {}, warn: (message) => warnings.push(message), error: () => {} };
  const logs: SandboxLogs = {
    read: (_session, request) => {
      requests.push(request);
      return answer();
    },
  };
  const read = (query: { tail?: number; since?: number; cursor?: string }) =>
    readSandboxLogs({ store, logger }, logs, KEY, { tail: 100, ...query });
  return { read, requests, warnings };
}

const lines = (position: string): Promise<LogReadResult> =>
  Promise.resolve({ ok: true, lines: [{ time: null, message: 'hi', truncated: false }], position });
const code = async (promise: Promise<unknown>) => {
  const error = await promise.catch((caught: unknown) => caught);
  expect(error).toBeInstanceOf(SandboxError);
  return (error as SandboxError).code;
};

describe('readSandboxLogs', () => {
  it("tails without a cursor, and wraps the backend's position in a cursor of this chat", async () => {
    const h = harness('s1', () => lines('42'));
    const page = await h.read({ tail: 7, since: 1_000 });
    expect(h.requests).toEqual([{ start: { from: 'tail', tail: 7 }, since: 1_000 }]);
    expect(page.sessionId).toBe('s1');
    expect(decodeLogCursor(KEY, page.nextCursor)).toEqual({ sessionId: 's1', position: '42' });
  });

  it("continues at the cursor's position for the same session, and from the beginning for a new one", async () => {
    const h = harness('s2', () => lines('9'));
    await h.read({ cursor: encodeLogCursor(KEY, { sessionId: 's2', position: '5' }) });
    await h.read({ cursor: encodeLogCursor(KEY, { sessionId: 's1', position: '5' }) });
    expect(h.requests.map((request) => request.start)).toEqual([
      { from: 'position', position: '5' },
      { from: 'start' },
    ]);
  });

  it('refuses a cursor of another chat or tenant before the backend is asked', async () => {
    const h = harness('s1', () => lines('1'));
    for (const key of [
      { ...KEY, tenant: 'tenant-b' },
      { ...KEY, chatId: '22222222-2222-4222-8222-222222222222' },
    ]) {
      const cursor = encodeLogCursor(key, { sessionId: 's1', position: '5' });
      expect(await code(h.read({ cursor }))).toBe('invalid_cursor');
    }
    expect(h.requests).toEqual([]);
  });

  it('answers sandbox_not_found for a chat without a session', async () => {
    expect(await code(harness(null, () => lines('0')).read({}))).toBe('sandbox_not_found');
  });

  it('turns an unavailable backend into logs_unavailable with Retry-After, logging the cause', async () => {
    const h = harness('s1', () => Promise.reject(new LogsUnavailableError('throttled')));
    const error = (await h.read({}).catch((caught: unknown) => caught)) as SandboxError;
    expect(error.code).toBe('logs_unavailable');
    expect(error.options.retryAfterSeconds).toBe(5);
    expect(h.warnings).toEqual(['sandbox logs unavailable']);
    // Anything else is not the backend being unavailable: it stays an internal error.
    const broken = harness('s1', () => Promise.reject(new TypeError('bug')));
    await expect(broken.read({})).rejects.toBeInstanceOf(TypeError);
  });

  it('answers invalid_cursor when the backend no longer takes the position', async () => {
    const h = harness('s1', () => Promise.resolve({ ok: false, reason: 'invalid_position' }));
    const cursor = encodeLogCursor(KEY, { sessionId: 's1', position: '0:f/1' });
    expect(await code(h.read({ cursor }))).toBe('invalid_cursor');
  });
});
