/**
 * The credential provider of the bundled Lambda functions: the execution role's credentials, which
 * Lambda always puts in the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
 * AWS_SESSION_TOKEN). The bundler substitutes this module for `@aws-sdk/credential-provider-node`,
 * the SDK's default chain (shared config files, SSO, IMDS, web identity...), which a function never
 * needs and which is about 117 KiB of the bundle (docs/performance.md). Anything that is not bundled
 * (tests, the typed client, local mode) keeps the full chain.
 */
import { fromEnv } from '@aws-sdk/credential-provider-env';

/** The same name and shape as the default chain's export, so the SDK clients take it unchanged. */
export const defaultProvider: (init?: unknown) => ReturnType<typeof fromEnv> = () => fromEnv();
