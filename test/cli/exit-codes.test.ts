/** The CLI's exit codes for API answers, as docs/cli.md lists them. */
import { describe, expect, it } from 'vitest';
import { EXIT, exitCodeOf } from '../../src/cli/exit-codes.js';
import { type ApiErrorCode, apiErrorOf } from '../../src/client/errors.js';

const answer = (status: number, code: ApiErrorCode) =>
  apiErrorOf({ status, code, detail: 'x', problem: null, retryAfterSeconds: null, requestId: null });

describe('exit codes', () => {
  it("tells the API's not-found from an answer that was not the API's", () => {
    expect(exitCodeOf(answer(404, 'sandbox_not_found'))).toBe(EXIT.notFound);
    expect(exitCodeOf(answer(404, 'chat_file_not_found'))).toBe(EXIT.notFound);
    // A wrong --url, or API Gateway's own {"message":"Not Found"}.
    expect(exitCodeOf(answer(404, 'unexpected_response'))).toBe(EXIT.unavailable);
    expect(exitCodeOf(answer(200, 'unexpected_response'))).toBe(EXIT.unavailable);
    // API Gateway refusing a signature is the caller's to fix.
    expect(exitCodeOf(answer(403, 'unexpected_response'))).toBe(EXIT.apiError);
    expect(exitCodeOf(answer(422, 'validation_failed'))).toBe(EXIT.apiError);
    expect(exitCodeOf(answer(503, 'launch_failed'))).toBe(EXIT.unavailable);
  });
});
