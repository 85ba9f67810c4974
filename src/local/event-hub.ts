/**
 * Local mode's lifecycle events: the table's change stream, turned into events, kept in order in a
 * bounded buffer for `GET /v1/events` and handed to the webhook sender. Each event gets a position,
 * increasing by one, which is its Server-Sent Events id: a client that reconnects with
 * `Last-Event-ID` gets every event after it that the buffer still holds.
 */

import { type StreamRecordLike, sessionChangeOf } from '../adapters/dynamodb/session-changes.js';
import { eventsOfChange, type SandboxEvent } from '../core/events.js';
import type { Logger } from '../core/ports.js';

/** Events the buffer keeps, across tenants; a reconnecting client can resume within them. */
export const EVENT_BUFFER_SIZE = 10_000;

export interface PositionedEvent {
  readonly position: number;
  readonly event: SandboxEvent;
}

type Listener = (entry: PositionedEvent | null) => void;

export class EventHub {
  private readonly buffer: PositionedEvent[] = [];
  private readonly listeners = new Set<Listener>();
  private next = 1;
  private closed = false;

  constructor(
    private readonly logger: Logger,
    private readonly capacity = EVENT_BUFFER_SIZE,
  ) {}

  /** The events of a batch of stream records, in order; records of other items mean none. */
  async publishRecords(records: readonly StreamRecordLike[]): Promise<void> {
    for (const record of records) {
      let change: ReturnType<typeof sessionChangeOf>;
      try {
        change = sessionChangeOf(record);
      } catch (error) {
        this.logger.error('a stream record could not be read as a session change', { error });
        continue;
      }
      if (change) this.publish(eventsOfChange(change.before, change.after, change.at));
    }
  }

  publish(events: readonly SandboxEvent[]): void {
    for (const event of events) {
      const entry = { position: this.next, event };
      this.next += 1;
      this.buffer.push(entry);
      if (this.buffer.length > this.capacity) this.buffer.shift();
      if (!this.closed) for (const listener of this.listeners) listener(entry);
    }
  }

  /** The buffered events after `position` (all of them for 0), oldest first. */
  since(position: number): PositionedEvent[] {
    const first = this.buffer[0]?.position ?? this.next;
    return this.buffer.slice(Math.max(0, position + 1 - first));
  }

  /** The position of the newest event so far (0 before the first). */
  get latest(): number {
    return this.next - 1;
  }

  /**
   * Calls `listener` with every event published from now on, and with null once the hub closes;
   * answers a function that stops it.
   */
  subscribe(listener: Listener): () => void {
    if (this.closed) {
      listener(null);
      return () => {};
    }
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Ends every subscription (open event streams end too); later events are kept but not sent. */
  close(): void {
    this.closed = true;
    for (const listener of this.listeners) listener(null);
    this.listeners.clear();
  }
}
