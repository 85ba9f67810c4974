/** Lambda entry: the session table's stream -> lifecycle events on the stack's EventBridge bus. */
import { createEventPublisherHandler } from '../src/aws/event-publisher.js';

export const handler = createEventPublisherHandler();
