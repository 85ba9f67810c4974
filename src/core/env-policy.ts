/**
 * What a caller may put into a sandbox's environment. One list for every runtime: the HTTP schema
 * refuses a bad `env` with 422 before anything is stored, core checks a profile's allow-list, and the
 * runtime adapters check again just before they spawn or launch, so an env that reached the session
 * table some other way is refused there too.
 *
 * The rule: no name that changes how a process is loaded, or where it looks for code or
 * configuration, and no name the control plane sets itself. Names are uppercase (`ENV_NAME`), so the
 * patterns below cover every spelling a caller can send.
 */

/** Names a caller may use at all: uppercase letters, digits and `_`, not starting with a digit. */
export const ENV_NAME = /^[A-Z_][A-Z0-9_]{0,127}$/;

/** Variables the control plane sets on every sandbox (local mode adds the directory ones). */
export const CONTROL_PLANE_ENV = [
  'AGENT_ID',
  'CHAT_ID',
  'SESSION_ID',
  'PORT',
  'HOST',
  'CHAT_DIR',
  'DEPENDENCIES_DIR',
  'TOOLS_DIR',
] as const;

/**
 * Reserved names and name patterns (`*` matches any run of characters). Beyond the control plane's
 * own names and namespaces (`SANDBOX_*`, `AWS_*`, `ECS_*`): the dynamic loader (glibc and macOS), the
 * variables glibc drops for set-uid programs because they make it read other files, and the hooks of
 * common interpreters and shells.
 */
export const RESERVED_ENV_PATTERNS: readonly string[] = [
  ...CONTROL_PLANE_ENV,
  'SANDBOX_*',
  'AWS_*',
  'ECS_*',
  // Dynamic loaders and the C library.
  'LD_*',
  'DYLD_*',
  'GLIBC_*',
  'MALLOC_*',
  'GCONV_PATH',
  'GETCONF_DIR',
  'HOSTALIASES',
  'LOCALDOMAIN',
  'LOCPATH',
  'NIS_PATH',
  'NLSPATH',
  'RESOLV_HOST_CONF',
  'RES_OPTIONS',
  'TZDIR',
  // Interpreters and runtimes.
  'NODE_*',
  'NPM_CONFIG_*',
  'PYTHON*',
  'PERL*',
  'RUBY*',
  'GEM_*',
  'JAVA_TOOL_OPTIONS',
  '_JAVA_OPTIONS',
  'JDK_JAVA_OPTIONS',
  'CLASSPATH',
  'LUA_*',
  'DENO_*',
  'BUN_*',
  'OPENSSL_*',
  'SSL_CERT_*',
  // Shells.
  'BASH_ENV',
  'BASH_FUNC_*',
  'ENV',
  'SHELLOPTS',
  'BASHOPTS',
  'PS4',
  'IFS',
  'CDPATH',
  'PROMPT_COMMAND',
  'ZDOTDIR',
  // Where programs and their files are found.
  'PATH',
  'HOME',
  'TMPDIR',
];

/** Keys that mean something to JavaScript objects; refused in every map a caller sends. */
export const FORBIDDEN_KEYS: readonly string[] = ['__proto__', 'constructor', 'prototype'];

/** A glob with `*` wildcards as an anchored regular expression source. */
function globSource(pattern: string): string {
  return pattern
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
}

/** Env name globs (`APP_*`) as one anchored regular expression source; never matches for none. */
export function globsSource(patterns: readonly string[]): string {
  return patterns.length === 0 ? '^(?!)$' : `^(?:${patterns.map(globSource).join('|')})$`;
}

/** Compiles env name globs (`APP_*`) into one test. */
export function nameMatcher(patterns: readonly string[]): (name: string) => boolean {
  if (patterns.length === 0) return () => false;
  const regex = new RegExp(globsSource(patterns));
  return (name) => regex.test(name);
}

const isReserved = nameMatcher(RESERVED_ENV_PATTERNS);

/**
 * The names `envNameViolation` allows (without a profile's allow-list), as one ECMA-262 regular
 * expression source: `ENV_NAME` less the reserved names. The API's document states it as the
 * `env` map's `propertyNames` pattern, so a client can check a name before sending it.
 */
export const ALLOWED_ENV_NAME_SOURCE = `^(?!(?:${RESERVED_ENV_PATTERNS.map(globSource).join('|')})$)[A-Z_][A-Z0-9_]{0,127}$`;

/** An env entry the policy refuses, with the rule it breaks. */
export interface EnvViolation {
  readonly name: string;
  readonly message: string;
}

/** Why a single env name is refused, or null if it is allowed. `allow` is a profile's allow-list. */
export function envNameViolation(name: string, allow?: (name: string) => boolean): string | null {
  if (name.includes('\0')) return 'env names must not contain NUL';
  if (FORBIDDEN_KEYS.includes(name)) return `'${name}' is not allowed as a name`;
  if (!ENV_NAME.test(name)) return 'env names match ^[A-Z_][A-Z0-9_]{0,127}$';
  if (isReserved(name)) {
    return `'${name}' is reserved: the control plane sets it, or it changes how a process is loaded`;
  }
  if (allow && !allow(name)) return `'${name}' is not in the profile's list of allowed variables`;
  return null;
}

/**
 * Every entry of `env` the policy refuses: reserved or malformed names, NUL bytes in values, and,
 * where the profile has one, names outside its allow-list. Empty when the env may be used.
 */
export function envViolations(
  env: Readonly<Record<string, unknown>>,
  allow?: (name: string) => boolean,
): EnvViolation[] {
  const violations: EnvViolation[] = [];
  for (const name of Object.keys(env)) {
    const nameProblem = envNameViolation(name, allow);
    if (nameProblem) {
      violations.push({ name, message: nameProblem });
      continue;
    }
    const value = env[name];
    if (typeof value !== 'string') violations.push({ name, message: 'env values are strings' });
    else if (value.includes('\0')) violations.push({ name, message: 'env values must not contain NUL' });
  }
  return violations;
}

const matchers = new WeakMap<readonly string[], (name: string) => boolean>();

/** A profile's allow-list as a test, compiled once per list. */
export function allowListMatcher(patterns: readonly string[]): (name: string) => boolean {
  let matcher = matchers.get(patterns);
  if (!matcher) {
    matcher = nameMatcher(patterns);
    matchers.set(patterns, matcher);
  }
  return matcher;
}

/**
 * The runtimes' last check before a spawn or launch: why `env` may not be used with a profile whose
 * allow-list is `allowPatterns` (absent: none), or null when it may.
 */
export function envRefusal(
  env: Readonly<Record<string, unknown>>,
  allowPatterns?: readonly string[],
): string | null {
  const violations = envViolations(env, allowPatterns ? allowListMatcher(allowPatterns) : undefined);
  if (violations.length === 0) return null;
  return `env refused: ${violations.map((violation) => `${violation.name}: ${violation.message}`).join('; ')}`;
}
