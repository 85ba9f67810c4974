/** `npm start`: the control plane on this machine, with DynamoDB Local and local sandbox processes. */

import { parseLocalConfig } from './config.js';
import { consoleLogger } from './console-logger.js';
import { startLocalControlPlane } from './control-plane.js';
import { JavaMissingError } from './dynamodb-local.js';
import { StartupError } from './startup-error.js';

// The pinned SDK runs on Node 20; its once-per-process notice about 2027 releases is noise here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const logger = consoleLogger();

try {
  const config = parseLocalConfig(process.env);
  const plane = await startLocalControlPlane(config, logger);
  const tokenSource = config.apiToken ? 'from SANDBOX_API_TOKEN' : `stored in ${config.dataDir}/api-token`;
  if (config.exposed) {
    logger.warn(
      `HOST ${config.host} is reachable from other machines; sandboxes are plain processes on this one, so keep the token secret`,
    );
  }
  process.stdout.write(
    [
      `Sandbox control plane listening on ${plane.url}`,
      `  token:   ${plane.apiToken}   (${tokenSource})`,
      `  try:     curl -s -X PUT ${plane.url}/v1/chats/$(node -e "console.log(crypto.randomUUID())")/sandbox \\`,
      `             -H 'Authorization: Bearer ${plane.apiToken}' -H 'Content-Type: application/json' \\`,
      `             -d '{"agentId":"agent-alpha","waitSeconds":10}'`,
      `  openapi: ${plane.url}/v1/openapi.json   data: ${config.dataDir}`,
      'Press Ctrl+C to stop; running sandboxes are stopped with it.',
      '',
    ].join('\n'),
  );
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info(`${signal}: stopping sandboxes, the server and DynamoDB Local`);
    plane.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error('shutdown failed', { error });
        process.exit(1);
      },
    );
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => shutdown(signal));
} catch (error) {
  if (error instanceof JavaMissingError || error instanceof StartupError) {
    process.stderr.write(`${error.message}\n`);
  } else {
    logger.error('could not start', { error });
  }
  process.exit(1);
}
