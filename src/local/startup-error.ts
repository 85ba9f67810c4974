/** A reason local mode cannot start that the user can act on; printed as its message alone. */
export class StartupError extends Error {
  override readonly name = 'StartupError';
}
