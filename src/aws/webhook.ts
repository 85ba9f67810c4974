/**
 * The webhook function (when the stack has a webhook URL): an EventBridge rule on the stack's bus
 * invokes it with each lifecycle event, and it POSTs the event, signed as local mode signs it
 * (src/adapters/webhook/signature.ts), with the key from Secrets Manager. A delivery that failed in
 * a way worth retrying throws, so Lambda retries it twice and then parks it in the dead-letter
 * queue, which an alarm watches. Deliveries on AWS are not ordered: receivers order by `sequence`.
 */
import type { EventBridgeEvent } from 'aws-lambda';
import { cachedSecret, createSecretsClient } from '../adapters/secrets/secret-value.js';
import { postEvent } from '../adapters/webhook/post-event.js';
import { webhookSection } from '../config/aws.js';
import { parseSections } from '../config/env.js';
import {
  EXPIRING,
  type SandboxEvent,
  type SandboxEventDetail,
  type SandboxEventType,
} from '../core/events.js';
import { DIMENSIONS, METRICS, SERVICES } from '../names.js';
import { countWith } from './metrics.js';
import { createObservability, instrument } from './observability.js';

/** One attempt's time limit; the function's timeout leaves room for it and the secret read. */
const ATTEMPT_TIMEOUT_MS = 10_000;

/** The event as the receiver gets it, the same shape as local mode's (id, type, time, detail). */
export function eventOf(envelope: EventBridgeEvent<string, SandboxEventDetail>): SandboxEvent {
  const type = envelope['detail-type'] as SandboxEventType;
  const kind = type === EXPIRING ? 'expiring' : 'state';
  return {
    id: `${envelope.detail.sessionId}/${envelope.detail.sequence}/${kind}`,
    type,
    time: envelope.time,
    detail: envelope.detail,
  };
}

/** The webhook function's handler; throws `ConfigError` naming every bad variable. */
export function createWebhookHandler(env: NodeJS.ProcessEnv = process.env) {
  const config = parseSections(env, { webhook: webhookSection });
  const observability = createObservability(SERVICES.webhook);
  const { logger, metrics, tracer } = observability;
  const secret = cachedSecret(tracer.captureAWSv3Client(createSecretsClient()), config.webhook.secretArn);

  return instrument(
    observability,
    (envelope: EventBridgeEvent<string, SandboxEventDetail>) => envelope.id,
    async (envelope) => {
      const event = eventOf(envelope);
      const outcome = await postEvent(config.webhook.url, await secret(), event, {
        timeoutMs: ATTEMPT_TIMEOUT_MS,
      });
      if (outcome.ok) {
        countWith(metrics, METRICS.webhookDeliveries, DIMENSIONS.outcome, 'delivered');
        return { delivered: event.id };
      }
      countWith(metrics, METRICS.webhookDeliveries, DIMENSIONS.outcome, outcome.retry ? 'retry' : 'refused');
      // Thrown either way: a refused event goes to the dead-letter queue for an operator to see.
      logger.warn('webhook delivery failed', {
        eventId: event.id,
        reason: outcome.reason,
        retry: outcome.retry,
      });
      throw new Error(`webhook delivery of ${event.id} failed: ${outcome.reason}`);
    },
  );
}
