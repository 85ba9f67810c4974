/**
 * How every Lambda function is bundled, as esbuild options: the one definition the CDK construct
 * (through NodejsFunction) and the bench's cold-start figure (through esbuild's API) both use, so the
 * bench measures exactly what deploys.
 */

/** Lets ESM bundles load the CommonJS parts of their dependencies (the AWS SDK calls `require`). */
export const ESM_REQUIRE_BANNER =
  "import { createRequire } from 'module'; const require = createRequire(import.meta.url);";

/**
 * Modules replaced at bundle time, paths relative to the project root. The SDK's default credential
 * chain becomes the environment provider: Lambda always passes the role's credentials in the
 * environment (see src/adapters/lambda-credentials.ts).
 */
export const BUNDLE_ALIASES: Readonly<Record<string, string>> = {
  '@aws-sdk/credential-provider-node': './src/adapters/lambda-credentials.ts',
};

export const FUNCTION_BUNDLING = {
  target: 'node22',
  format: 'esm',
  platform: 'node',
  mainFields: ['module', 'main'],
  banner: ESM_REQUIRE_BANNER,
  minify: true,
  sourcemap: true,
  alias: BUNDLE_ALIASES,
} as const;
