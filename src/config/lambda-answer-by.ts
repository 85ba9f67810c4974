import type { Context } from 'hono';

/** Kept back from the Lambda's remaining time to write the answer and flush metrics. */
const ANSWER_MARGIN_MS = 2_000;

interface LambdaBindings {
  readonly lambdaContext?: { readonly getRemainingTimeInMillis?: () => number };
}

/**
 * The epoch ms by which the api function must answer: its remaining time (hono/aws-lambda puts the
 * Lambda context in `c.env.lambdaContext`) less a margin. A long-poll that ran past it would end as a
 * function timeout, not as the sandbox's state.
 */
export function lambdaAnswerBy(c: Context): number | undefined {
  const remaining = (c.env as LambdaBindings | undefined)?.lambdaContext?.getRemainingTimeInMillis?.();
  return remaining === undefined ? undefined : Date.now() + remaining - ANSWER_MARGIN_MS;
}
