/** Lambda entry: EventBridge "ECS Task State Change" -> core runtime events. */
import { createTaskEventsHandler } from '../src/aws/task-events.js';

export const handler = createTaskEventsHandler();
