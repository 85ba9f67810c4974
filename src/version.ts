import packageJson from '../package.json' with { type: 'json' };

/** The package version, as the health route and the OpenAPI document report it. */
export const VERSION: string = packageJson.version;
