/**
 * Powertools for AWS Lambda in every function: a JSON logger with the request's or event's
 * correlation id, EMF metrics flushed after each invocation, and an X-Ray subsegment per invocation.
 * All three work offline: `POWERTOOLS_DEV`, `POWERTOOLS_METRICS_DISABLED` and
 * `POWERTOOLS_TRACE_ENABLED=false` turn the AWS-facing parts off in tests.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';
import type { Context } from 'aws-lambda';
import type { Logger as CoreLogger } from '../core/ports.js';
import { ENV, METRIC_NAMESPACE } from '../names.js';

export interface Observability {
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly tracer: Tracer;
}

/** Logger, metrics and tracer for one function; `serviceName` becomes the `service` key and dimension. */
export function createObservability(serviceName: string): Observability {
  return {
    logger: new Logger({ serviceName }),
    metrics: new Metrics({
      namespace: process.env[ENV.metricsNamespace] ?? METRIC_NAMESPACE,
      serviceName,
    }),
    tracer: new Tracer({ serviceName }),
  };
}

export type LambdaFunction<E, R> = (event: E, context: Context) => Promise<R>;

/**
 * Wraps a handler: Lambda context and correlation id on every log line, cold start as a metric and a
 * trace annotation, an `## handler` subsegment, errors logged and traced, metrics flushed at the end.
 */
export function instrument<E, R>(
  { logger, metrics, tracer }: Observability,
  correlationId: (event: E, context: Context) => string | undefined,
  handler: LambdaFunction<E, R>,
): LambdaFunction<E, R> {
  return async (event, context) => {
    logger.addContext(context);
    logger.setCorrelationId(correlationId(event, context) ?? context.awsRequestId);
    metrics.captureColdStartMetric(context.functionName);
    const segment = tracer.getSegment();
    const subsegment = segment?.addNewSubsegment(`## ${process.env._HANDLER ?? 'handler'}`);
    if (subsegment) tracer.setSegment(subsegment);
    tracer.annotateColdStart();
    tracer.addServiceNameAnnotation();
    try {
      return await handler(event, context);
    } catch (error) {
      if (error instanceof Error) tracer.addErrorAsMetadata(error);
      logger.error('invocation failed', { error });
      throw error;
    } finally {
      subsegment?.close();
      if (segment) tracer.setSegment(segment);
      // Flushing an empty store only logs a warning; the cold start metric is flushed on its own.
      if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
    }
  };
}

/** Core's logger port over Powertools' logger (which takes extra attributes as a rest parameter). */
export function coreLogger(logger: Logger): CoreLogger {
  const extraArgs = (extra?: Record<string, unknown>) => (extra ? [extra] : []);
  return {
    info: (message, extra) => logger.info(message, ...extraArgs(extra)),
    warn: (message, extra) => logger.warn(message, ...extraArgs(extra)),
    error: (message, extra) => logger.error(message, ...extraArgs(extra)),
  };
}
