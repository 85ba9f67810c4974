import type { SandboxRuntime } from '../core/ports.js';

const refuse = () => Promise.reject(new Error('this function runs no sandboxes'));

/**
 * The runtime of a function that starts, describes and stops nothing (logs, storage): API Gateway
 * routes no sandbox request to it, so nothing calls these.
 */
export const NO_RUNTIME: SandboxRuntime = {
  launch: refuse,
  describe: refuse,
  stop: refuse,
  inventory: refuse,
};
