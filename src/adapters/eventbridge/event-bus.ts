/**
 * The stack's EventBridge bus as where lifecycle events go: `PutEvents`, ten entries a call (the
 * API's limit), each event's detail as its JSON.
 */
import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import type { SandboxEvent } from '../../core/events.js';
import { DYNAMODB_MAX_ATTEMPTS } from '../dynamodb/client.js';

/** Entries per `PutEvents` call, the API's limit. */
const ENTRIES_PER_CALL = 10;

/** The functions' EventBridge client: region and credentials from the environment. */
export function createEventBridgeClient(): EventBridgeClient {
  return new EventBridgeClient({ retryMode: 'standard', maxAttempts: DYNAMODB_MAX_ATTEMPTS });
}

export class EventBus {
  constructor(
    private readonly client: EventBridgeClient,
    private readonly busName: string,
    private readonly source: string,
  ) {}

  /**
   * Puts `events` in order; answers the index of the first event the bus did not take (-1 when it
   * took them all). Nothing after a refused event is put, so a retry from it keeps the order.
   */
  async put(events: readonly SandboxEvent[]): Promise<number> {
    for (let start = 0; start < events.length; start += ENTRIES_PER_CALL) {
      const chunk = events.slice(start, start + ENTRIES_PER_CALL);
      const { FailedEntryCount, Entries } = await this.client.send(
        new PutEventsCommand({ Entries: chunk.map((event) => this.entry(event)) }),
      );
      if (FailedEntryCount) {
        const failed = (Entries ?? []).findIndex((entry) => entry.ErrorCode);
        return start + Math.max(0, failed);
      }
    }
    return -1;
  }

  private entry(event: SandboxEvent): PutEventsRequestEntry {
    return {
      EventBusName: this.busName,
      Source: this.source,
      DetailType: event.type,
      Time: new Date(event.time),
      Detail: JSON.stringify(event.detail),
      Resources: [],
    };
  }
}
