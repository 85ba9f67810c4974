import type { z } from '@hono/zod-openapi';
import { SandboxError } from '../core/errors.js';

/** Turns a failed schema check into a 422 `validation_failed` listing each offending path. */
export function validationHook(result: { success: boolean; error?: z.ZodError; target: string }): void {
  if (!result.success && result.error) throw validationError(result.error, result.target);
}

export function validationError(error: z.ZodError, target: string): SandboxError {
  const where = target === 'json' ? 'body' : target;
  const errors = error.issues.map((issue) => ({
    path: issue.path.length > 0 ? issue.path.join('.') : where,
    message:
      issue.code === 'unrecognized_keys' ? `unknown field(s): ${issue.keys.join(', ')}` : issue.message,
  }));
  return new SandboxError('validation_failed', `The request ${where} is invalid.`, { errors });
}
