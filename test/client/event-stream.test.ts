/** The Server-Sent Events parser: messages split anywhere across chunks, every line ending, comments. */
import { describe, expect, it } from 'vitest';
import { parseEventStream, type SseMessage } from '../../src/client/index.js';

async function parse(chunks: readonly string[], lastEventId: string | null = null): Promise<SseMessage[]> {
  const encoder = new TextEncoder();
  async function* source() {
    for (const chunk of chunks) yield encoder.encode(chunk);
  }
  const messages: SseMessage[] = [];
  for await (const message of parseEventStream(source(), lastEventId)) messages.push(message);
  return messages;
}

describe('parseEventStream', () => {
  const stream =
    ': keepalive\n\nevent: Sandbox State Change\nid: 7\ndata: {"a":1}\n\ndata: line one\ndata: line two\n\n';

  it('parses the same messages however the stream is cut into chunks', async () => {
    const whole = await parse([stream]);
    expect(whole).toEqual([
      { id: '7', event: 'Sandbox State Change', data: '{"a":1}', retry: null },
      { id: '7', event: 'message', data: 'line one\nline two', retry: null },
    ]);
    const bytes = [...stream];
    expect(await parse(bytes)).toEqual(whole);
    expect(await parse([stream.slice(0, 20), stream.slice(20, 41), stream.slice(41)])).toEqual(whole);
  });

  it('accepts CRLF and CR line endings, even a CRLF split across chunks', async () => {
    const crlf = stream.replaceAll('\n', '\r\n');
    const cut = crlf.indexOf('\r\n') + 1;
    expect(await parse([crlf.slice(0, cut), crlf.slice(cut)])).toEqual(await parse([stream]));
    expect(await parse([stream.replaceAll('\n', '\r')])).toEqual(await parse([stream]));
  });

  it('keeps the last event id across messages, reads retry, and drops an unfinished message', async () => {
    expect(await parse(['retry: 2500\ndata: x\n\ndata:y\n\ndata: cut off'], '3')).toEqual([
      { id: '3', event: 'message', data: 'x', retry: 2500 },
      { id: '3', event: 'message', data: 'y', retry: null },
    ]);
  });
});
