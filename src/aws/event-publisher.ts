/**
 * The event-publisher function: the session table's stream (a Lambda event source mapping, which
 * keeps each item's changes in order) -> lifecycle events on the stack's EventBridge bus. Records
 * are handled in order; when the bus refuses an event, the record it came from and every later
 * one are reported as failed, so Lambda retries from there and the order holds. A record that is
 * not a session change (filtered out before the function, normally) means no event.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { type StreamRecordLike, sessionChangeOf } from '../adapters/dynamodb/session-changes.js';
import { createEventBridgeClient, EventBus } from '../adapters/eventbridge/event-bus.js';
import { eventBusSection } from '../config/aws.js';
import { parseSections } from '../config/env.js';
import { eventsOfChange, type SandboxEvent } from '../core/events.js';
import { EVENT_SOURCE, METRICS, SERVICES } from '../names.js';
import { createObservability, instrument } from './observability.js';

/** The event-publisher function's handler; throws `ConfigError` naming every bad variable. */
export function createEventPublisherHandler(env: NodeJS.ProcessEnv = process.env) {
  const config = parseSections(env, { bus: eventBusSection });
  const observability = createObservability(SERVICES.eventPublisher);
  const { logger, metrics, tracer } = observability;
  const bus = new EventBus(
    tracer.captureAWSv3Client(createEventBridgeClient()),
    config.bus.eventBusName,
    EVENT_SOURCE,
  );

  return instrument(
    observability,
    (event: DynamoDBStreamEvent) => event.Records[0]?.eventID,
    async (event): Promise<DynamoDBBatchResponse> => {
      const events: SandboxEvent[] = [];
      /** For each event, the index of the stream record it came from. */
      const origins: number[] = [];
      event.Records.forEach((record, index) => {
        let change: ReturnType<typeof sessionChangeOf>;
        try {
          change = sessionChangeOf(record as StreamRecordLike);
        } catch (error) {
          // It will not read any better on a retry: logged, counted, passed over.
          logger.error('a stream record is not a readable session change', {
            eventID: record.eventID,
            error,
          });
          return;
        }
        if (!change) return;
        for (const sandboxEvent of eventsOfChange(change.before, change.after, change.at)) {
          events.push(sandboxEvent);
          origins.push(index);
        }
      });
      const refused = events.length === 0 ? -1 : await bus.put(events);
      const published = refused === -1 ? events.length : refused;
      if (published > 0) metrics.addMetric(METRICS.eventsPublished, MetricUnit.Count, published);
      if (refused === -1) return { batchItemFailures: [] };

      metrics.addMetric(METRICS.eventsRefused, MetricUnit.Count, events.length - refused);
      const first = event.Records[origins[refused]!]!;
      logger.warn('the bus refused an event; the batch is retried from its record', {
        eventId: events[refused]!.id,
        sequenceNumber: first.dynamodb?.SequenceNumber,
      });
      return { batchItemFailures: [{ itemIdentifier: first.dynamodb?.SequenceNumber ?? '' }] };
    },
  );
}
