#!/usr/bin/env node
// sandboxctl: the control plane's API from a shell (docs/cli.md). Loads the TypeScript source
// through tsx and runs src/cli/main.ts with this process's streams and environment.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');

const controller = new AbortController();
// The first Ctrl+C ends the command (a stream ends, a request is cancelled); a second one exits.
process.on('SIGINT', () => {
  if (controller.signal.aborted) process.exit(130);
  controller.abort();
});
// A closed pipe (`sandboxctl events | head`) ends the command quietly.
process.stdout.on('error', (error) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

process.exitCode = await main(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  cwd: process.cwd(),
  signal: controller.signal,
});
