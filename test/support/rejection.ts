import { expect } from 'vitest';

/** What `promise` rejected with; the test fails when it resolves instead. */
export function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.fail('expected a rejection'),
    (error: unknown) => error,
  );
}
