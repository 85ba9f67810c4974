/** Lambda entry: lifecycle events from the stack's bus -> the configured webhook, signed. */
import { createWebhookHandler } from '../src/aws/webhook.js';

export const handler = createWebhookHandler();
