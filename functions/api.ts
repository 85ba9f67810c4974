/** Lambda entry: API Gateway HTTP API (payload 2.0) -> the Hono app. */
import { createApiHandler } from '../src/aws/api.js';

export const handler = createApiHandler();
