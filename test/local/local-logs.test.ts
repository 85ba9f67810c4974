/**
 * The local log reader on its own, over files written by the test: any content read by following
 * the cursor gives exactly its complete lines once, across chunk boundaries and answer bounds; a
 * tail is the newest lines that fit; a line without an end beyond the scan limit is skipped, not
 * scanned again and again.
 */
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalSandboxLogs } from '../../src/adapters/local/local-logs.js';
import { decodeLine, messageBytes } from '../../src/core/log-lines.js';
import { LOG_BOUNDS, type LogLine, type LogReadResult, type LogStart } from '../../src/core/logs-port.js';
import type { Session } from '../../src/core/model.js';

const dataDir = mkdtempSync(join(tmpdir(), 'local-logs-'));
mkdirSync(join(dataDir, 'logs'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

const reader = new LocalSandboxLogs(dataDir);
let counter = 0;

function sessionWith(content: Buffer, status: Session['status'] = 'running'): Session {
  counter += 1;
  const sessionId = `00000000-0000-4000-8000-${String(counter).padStart(12, '0')}`;
  writeFileSync(join(dataDir, 'logs', `${sessionId}.log`), content);
  return { sessionId, status, profile: 'printer', runtimeRef: `local/${sessionId}` } as Session;
}

async function read(
  session: Session,
  start: LogStart,
): Promise<{ lines: readonly LogLine[]; position: string }> {
  const result: LogReadResult = await reader.read(session, { start, since: null });
  if (!result.ok) throw new Error('unexpected invalid position');
  return { lines: result.lines, position: result.position };
}

/** Every line by following from the beginning until an answer brings nothing. */
async function followAll(session: Session): Promise<LogLine[]> {
  const lines: LogLine[] = [];
  let answer = await read(session, { from: 'start' });
  for (let guard = 0; guard < 10_000; guard += 1) {
    expect(answer.lines.length).toBeLessThanOrEqual(LOG_BOUNDS.maxLines);
    expect(answer.lines.reduce((sum, line) => sum + messageBytes(line), 0)).toBeLessThanOrEqual(
      LOG_BOUNDS.maxBytes,
    );
    lines.push(...answer.lines);
    if (answer.lines.length === 0) return lines;
    answer = await read(session, { from: 'position', position: answer.position });
  }
  throw new Error('following never ended');
}

/** The complete lines of `content` as the reader must answer them. */
function expectedLines(content: Buffer, final: boolean): LogLine[] {
  const lines: LogLine[] = [];
  let begin = 0;
  for (let end = content.indexOf(10); end !== -1; end = content.indexOf(10, begin)) {
    lines.push(decodeLine(content.subarray(begin, end), end - begin, null));
    begin = end + 1;
  }
  if (final && begin < content.length) {
    lines.push(decodeLine(content.subarray(begin), content.length - begin, null));
  }
  return lines;
}

/** Lines of mixed lengths, some over the 64 KiB read chunk and the 16 KiB line bound, some not UTF-8. */
const contentArbitrary = fc
  .array(
    fc.oneof(
      {
        weight: 6,
        arbitrary: fc.string({ maxLength: 40 }).map((text) => Buffer.from(text.replace(/\n/g, ''))),
      },
      { weight: 2, arbitrary: fc.integer({ min: 16_000, max: 70_000 }).map((n) => Buffer.alloc(n, 'é')) },
      {
        weight: 1,
        arbitrary: fc
          .uint8Array({ maxLength: 30 })
          .map((bytes) => Buffer.from(bytes.filter((b) => b !== 10))),
      },
    ),
    { maxLength: 60 },
  )
  .chain((lines) =>
    fc.boolean().map((unterminated) => {
      const joined = Buffer.concat(lines.flatMap((line) => [line, Buffer.from('\n')]));
      return unterminated ? Buffer.concat([joined, Buffer.from('partial')]) : joined;
    }),
  );

describe('LocalSandboxLogs', () => {
  it('answers every complete line exactly once when followed, whatever the content', async () => {
    await fc.assert(
      fc.asyncProperty(contentArbitrary, fc.boolean(), async (content, ended) => {
        const session = sessionWith(content, ended ? 'stopped' : 'running');
        expect(await followAll(session)).toEqual(expectedLines(content, ended));
      }),
      { numRuns: 40 },
    );
  });

  it('tails the newest lines that fit in one answer', async () => {
    await fc.assert(
      fc.asyncProperty(contentArbitrary, fc.integer({ min: 1, max: 80 }), async (content, tail) => {
        const session = sessionWith(content);
        const all = expectedLines(content, false);
        const expected: LogLine[] = [];
        let bytes = 0;
        for (const line of all.slice(-tail).reverse()) {
          if (bytes + messageBytes(line) > LOG_BOUNDS.maxBytes) break;
          bytes += messageBytes(line);
          expected.unshift(line);
        }
        const answer = await read(session, { from: 'tail', tail });
        expect(answer.lines).toEqual(expected);
        // Following from the tail's position brings nothing already seen.
        const next = await read(session, { from: 'position', position: answer.position });
        expect(next.lines).toEqual([]);
      }),
      { numRuns: 40 },
    );
  });

  it('answers the beginning of a line without an end beyond the scan limit once, then skips the rest', async () => {
    const huge = Buffer.alloc(9 * 1024 * 1024, 'x');
    const session = sessionWith(Buffer.concat([Buffer.from('first\n'), huge]));
    const path = join(dataDir, 'logs', `${session.sessionId}.log`);

    const followed = await read(session, { from: 'start' });
    expect(followed.lines.map((line) => [line.message.length, line.truncated])).toEqual([
      [5, false],
      [LOG_BOUNDS.maxLineBytes, true],
    ]);
    const skipped = await read(session, { from: 'position', position: followed.position });
    expect(skipped.lines).toEqual([]);
    expect(skipped.position).toBe(`${6 + huge.length}s`);

    // A tail that cannot reach the start of the last line skips it as well.
    const tail = await read(session, { from: 'tail', tail: 10 });
    expect(tail).toEqual({ lines: [], position: `${6 + huge.length}s` });

    appendFileSync(path, 'xx\nnext\n');
    for (const position of [skipped.position, tail.position]) {
      const after = await read(session, { from: 'position', position });
      expect(after.lines.map((line) => line.message)).toEqual(['next']);
    }
  });

  it('refuses positions it did not write, and reads a missing file as empty', async () => {
    const session = sessionWith(Buffer.from('one\n'));
    for (const position of ['5', '-1', '01', 'x', '4ss', '1e3']) {
      await expect(
        reader.read(session, { start: { from: 'position', position }, since: null }),
      ).resolves.toEqual({
        ok: false,
        reason: 'invalid_position',
      });
    }
    const missing = { ...session, sessionId: 'never-launched' };
    await expect(read(missing, { from: 'tail', tail: 5 })).resolves.toEqual({ lines: [], position: '0' });
    // A session id that is no plain name never becomes a path.
    const odd = { ...session, sessionId: '../../etc/passwd' };
    await expect(read(odd, { from: 'tail', tail: 5 })).resolves.toEqual({ lines: [], position: '0' });
  });
});
