/**
 * Server-Sent Events over fetch: the parser of the `text/event-stream` format (WHATWG HTML, "Server-sent
 * events") and the iterator of `GET /v1/events`, which reconnects with `Last-Event-ID` after the
 * stream ends or drops, so no event is missed.
 */
import { apiErrorOf, NetworkError } from './errors.js';
import { sleep } from './sleep.js';
import type { Transport } from './transport.js';
import type { EventMessage, SandboxEvent } from './types.js';

/** One dispatched message; `id` is the stream's last event id at that point. */
export interface SseMessage {
  readonly id: string | null;
  readonly event: string;
  readonly data: string;
  /** A `retry:` field, the reconnection delay the server asks for, in ms. */
  readonly retry: number | null;
}

/** The messages of an event stream, as they arrive; ends when the stream does. */
export async function* parseEventStream(
  chunks: AsyncIterable<Uint8Array>,
  lastEventId: string | null = null,
): AsyncGenerator<SseMessage> {
  const decoder = new TextDecoder();
  let buffered = '';
  let id = lastEventId;
  let event = '';
  let data: string[] = [];
  let retry: number | null = null;
  const line = (text: string): SseMessage | null => {
    if (text === '') {
      const message =
        data.length > 0 ? { id, event: event || 'message', data: data.join('\n'), retry } : null;
      event = '';
      data = [];
      retry = null;
      return message;
    }
    if (text.startsWith(':')) return null;
    const colon = text.indexOf(':');
    const field = colon < 0 ? text : text.slice(0, colon);
    let value = colon < 0 ? '' : text.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
    else if (field === 'id' && !value.includes('\0')) id = value;
    else if (field === 'retry' && /^\d+$/.test(value)) retry = Number(value);
    return null;
  };
  /** The complete lines of `buffered`; at the end of the stream a last CR ends its line too. */
  function* lines(ended: boolean): Generator<SseMessage> {
    for (;;) {
      const end = buffered.search(/[\r\n]/);
      // A CR at the end of what has arrived may be the first half of a CRLF.
      if (end < 0 || (!ended && buffered[end] === '\r' && end === buffered.length - 1)) return;
      const width = buffered[end] === '\r' && buffered[end + 1] === '\n' ? 2 : 1;
      const message = line(buffered.slice(0, end));
      buffered = buffered.slice(end + width);
      if (message) yield message;
    }
  }
  for await (const chunk of chunks) {
    buffered += decoder.decode(chunk, { stream: true });
    yield* lines(false);
  }
  buffered += decoder.decode();
  yield* lines(true);
}

export interface EventsOptions {
  /** Resume after this event id (`0` replays what the server still holds). */
  readonly lastEventId?: string;
  /** Ends the iteration (without an error) when aborted. */
  readonly signal?: AbortSignal;
  /** Reconnect when the stream ends or drops (default true); false ends the iteration instead. */
  readonly reconnect?: boolean;
}

const DEFAULT_RECONNECT_MS = 1_000;

/**
 * The messages of `GET /v1/events`. A stream that ends or breaks is reopened from the last event id,
 * after the delay the server asked for; a reconnection the server refuses, or that gets no answer,
 * throws. Aborting `signal` ends the iteration.
 */
export async function* eventMessages(
  transport: Transport,
  options: EventsOptions = {},
): AsyncGenerator<EventMessage> {
  const { signal } = options;
  let lastEventId = options.lastEventId ?? null;
  let delayMs = DEFAULT_RECONNECT_MS;
  for (let attempt = 0; !signal?.aborted; attempt += 1) {
    if (attempt > 0) {
      if (options.reconnect === false) return;
      try {
        await sleep(delayMs, signal);
      } catch {
        return;
      }
    }
    let opened = false;
    try {
      const response = await transport.stream({
        method: 'GET',
        path: '/v1/events',
        headers: lastEventId === null ? {} : { 'last-event-id': lastEventId },
        ...(signal ? { signal } : {}),
      });
      opened = true;
      if (!response.body) continue;
      for await (const message of parseEventStream(response.body, lastEventId)) {
        if (message.retry !== null) delayMs = message.retry;
        lastEventId = message.id;
        if (message.data === '') continue;
        yield { id: message.id, event: message.event, data: parseData(response, message.data) };
      }
    } catch (error) {
      if (signal?.aborted) return;
      // A stream that broke after it was open is reopened; a connection that fails is reported.
      if (!(opened && isStreamBreak(error))) throw error;
    }
  }
}

/** A read of an open stream that failed: the connection closed under it. */
function isStreamBreak(error: unknown): boolean {
  return error instanceof TypeError || error instanceof NetworkError;
}

function parseData(response: Response, data: string): SandboxEvent {
  try {
    return JSON.parse(data) as SandboxEvent;
  } catch {
    throw apiErrorOf({
      status: response.status,
      code: 'unexpected_response',
      detail: `an event's data is not JSON: ${data.slice(0, 200)}`,
      problem: null,
      retryAfterSeconds: null,
      requestId: null,
    });
  }
}
