import { Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { ROUTE_PATHS, STORAGE_ROUTE_KEYS } from '../../src/names.js';
import { acknowledgeWildcardResources } from './nag.js';

/**
 * `iam`: API Gateway checks a SigV4 signature and the caller's `execute-api:Invoke` permission; the
 * tenant is the caller's IAM principal. `token`: API Gateway lets requests through and the api function
 * checks a bearer token against `SANDBOX_API_TOKENS`.
 */
export type AuthMode = 'iam' | 'token';

/** The functions behind the API and how it authorizes and throttles callers. */
export interface ControlPlaneApiProps {
  readonly handler: lambda.IFunction;
  /**
   * Serves `GET /v1/chats/{chatId}/sandbox/logs` and `GET /v1/openapi.json`, under the same
   * authorization as every route.
   */
  readonly logsHandler: lambda.IFunction;
  /** Serves the chat storage routes (`STORAGE_ROUTE_KEYS`), under the same authorization as every route. */
  readonly storageHandler: lambda.IFunction;
  readonly authMode: AuthMode;
  readonly logRetention: logs.RetentionDays;
  /** Steady-state requests per second across the API. @default 50 */
  readonly rateLimit?: number;
  /** @default 100 */
  readonly burstLimit?: number;
}

/** The health checks: this API's and the original service's (a compatibility route). */
export const HEALTH_PATHS = ['/v1/health', '/api/v1/health'] as const;

/** API Gateway's method of each non-GET storage route method (GET maps to GET and HEAD). */
const STORAGE_METHODS = {
  put: apigw.HttpMethod.PUT,
  post: apigw.HttpMethod.POST,
  delete: apigw.HttpMethod.DELETE,
} as const;

/** Fields of each access log line; the caller's identity is what tenant isolation is audited by. */
const ACCESS_LOG_FIELDS = {
  requestId: '$context.requestId',
  requestTime: '$context.requestTime',
  routeKey: '$context.routeKey',
  path: '$context.path',
  status: '$context.status',
  latencyMs: '$context.responseLatency',
  integrationStatus: '$context.integrationStatus',
  integrationError: '$context.integrationErrorMessage',
  sourceIp: '$context.identity.sourceIp',
  caller: '$context.identity.caller',
  userArn: '$context.identity.userArn',
};

/**
 * The HTTPS entry point: an HTTP API whose every route goes to the api function except the sandbox
 * logs route and the OpenAPI document (the logs function) and the chat storage routes (the storage
 * function), IAM-authorized by default, throttled, with JSON access logs. Also provides a managed
 * policy that lets a principal call it, to attach to the hosted agents' roles.
 */
export class ControlPlaneApi extends Construct {
  readonly httpApi: apigw.HttpApi;
  readonly stage: apigw.HttpStage;
  readonly accessLogs: logs.LogGroup;
  /** Grants `execute-api:Invoke` on every route of this API; attach it to agent roles (IAM mode). */
  readonly invokePolicy: iam.ManagedPolicy;

  constructor(scope: Construct, id: string, props: ControlPlaneApiProps) {
    super(scope, id);

    this.httpApi = new apigw.HttpApi(this, 'HttpApi', {
      description: 'Agent sandbox control plane',
      createDefaultStage: false,
      defaultAuthorizer: props.authMode === 'iam' ? new HttpIamAuthorizer() : new apigw.HttpNoneAuthorizer(),
    });
    const integration = new HttpLambdaIntegration('Handler', props.handler);
    this.httpApi.addRoutes({ path: '/{proxy+}', methods: [apigw.HttpMethod.ANY], integration });
    // A more specific route wins over `/{proxy+}`: the logs route and the document reach only the
    // logs function.
    const logsIntegration = new HttpLambdaIntegration('Logs', props.logsHandler);
    for (const path of [ROUTE_PATHS.sandboxLogs, ROUTE_PATHS.openApi]) {
      // HEAD too: the app answers HEAD from the GET handler, and anything else goes to the api
      // function, which answers 405 for these paths.
      this.httpApi.addRoutes({
        path,
        methods: [apigw.HttpMethod.GET, apigw.HttpMethod.HEAD],
        integration: logsIntegration,
      });
    }
    // The storage routes, method by method: any other method on their paths still falls to
    // `/{proxy+}`, where the api function answers 405. GET routes answer HEAD too, like the logs route.
    const storageIntegration = new HttpLambdaIntegration('Storage', props.storageHandler);
    const storageMethods = new Map<string, apigw.HttpMethod[]>();
    for (const { method, path } of STORAGE_ROUTE_KEYS) {
      const methods = storageMethods.get(path) ?? [];
      if (method === 'get') methods.push(apigw.HttpMethod.GET, apigw.HttpMethod.HEAD);
      else methods.push(STORAGE_METHODS[method]);
      storageMethods.set(path, methods);
    }
    for (const [path, methods] of storageMethods) {
      this.httpApi.addRoutes({ path, methods, integration: storageIntegration });
    }
    // The API contract exempts the health check from authentication, so load balancers and uptime
    // probes can call it unsigned; it answers with no tenant data.
    for (const path of HEALTH_PATHS) {
      const [health] = this.httpApi.addRoutes({
        path,
        methods: [apigw.HttpMethod.GET],
        integration,
        authorizer: new apigw.HttpNoneAuthorizer(),
      });
      if (health) {
        Validations.of(health).acknowledge({
          id: 'AwsSolutions-APIG4',
          reason: `GET ${path} is unauthenticated by the API contract and returns no tenant data.`,
        });
      }
    }

    this.accessLogs = new logs.LogGroup(this, 'AccessLogs', { retention: props.logRetention });
    this.stage = new apigw.HttpStage(this, 'DefaultStage', {
      httpApi: this.httpApi,
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: props.rateLimit ?? 50, burstLimit: props.burstLimit ?? 100 },
      accessLogSettings: {
        destination: new apigw.LogGroupLogDestination(this.accessLogs),
        format: AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FIELDS)),
      },
    });

    const everyRoute = this.httpApi.arnForExecuteApi('*', '/*', '$default');
    this.invokePolicy = new iam.ManagedPolicy(this, 'InvokePolicy', {
      description: 'Call the agent sandbox control plane API',
      statements: [new iam.PolicyStatement({ actions: ['execute-api:Invoke'], resources: [everyRoute] })],
    });
    acknowledgeWildcardResources(this.invokePolicy, [
      {
        resource: everyRoute,
        reason:
          'Callers may use every route of this one API; the API itself confines them to their own tenant.',
      },
    ]);

    if (props.authMode === 'token') {
      Validations.of(this.httpApi).acknowledge({
        id: 'AwsSolutions-APIG4',
        reason: 'Token auth mode: the api function verifies a bearer token on every request before any work.',
      });
    }
  }

  /** The base URL clients call. */
  get url(): string {
    return this.stage.url;
  }
}
