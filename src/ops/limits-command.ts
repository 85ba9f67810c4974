/** `npm run limits`: see src/ops/limits.ts. */
import { StartupError } from '../local/startup-error.js';
import { main } from './limits.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(
    `${error instanceof StartupError ? error.message : error instanceof Error ? error.message : String(error)}\n`,
  );
  process.exit(1);
});
