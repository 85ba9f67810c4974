/** Lambda entry: API Gateway HTTP API (payload 2.0), the sandbox logs route only -> the Hono app. */
import { createLogsHandler } from '../src/aws/logs.js';

export const handler = createLogsHandler();
