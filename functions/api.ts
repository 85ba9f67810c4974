/** Lambda entry: API Gateway HTTP API (payload v2) -> the Hono app of API.md. */
import { handle, type LambdaEvent } from 'hono/aws-lambda';
import { createAwsDeps } from '../src/config/aws-deps.js';
import { createApp } from '../src/http/app.js';
import { recordApiAnswer } from '../src/observability/metrics.js';
import { instrument, requestIdOf } from '../src/observability/powertools.js';

const deps = createAwsDeps('sandbox-api');
const app = handle(createApp(deps.app));

export const handler = instrument(deps.observability, requestIdOf, async (event: LambdaEvent, context) => {
  const result = await app(event, context);
  recordApiAnswer(deps.observability.metrics, { event, result });
  return result;
});
