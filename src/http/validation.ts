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
    message: messageOf(issue),
  }));
  return new SandboxError('validation_failed', `The request ${where} is invalid.`, { errors });
}

function messageOf(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') return `unknown field(s): ${issue.keys.join(', ')}`;
  // A record key that broke its own schema: its message says which rule.
  if (issue.code === 'invalid_key') return issue.issues[0]?.message ?? issue.message;
  return issue.message;
}
