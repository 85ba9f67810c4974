import { type FieldError, SandboxError } from '../core/errors.js';
import type * as z from '../zod.js';

type Issue = z.core.$ZodIssue;

/** The field errors of a failed parse; `target` names the whole input when an issue has no path. */
export function fieldErrors(error: { readonly issues: readonly Issue[] }, target: string): FieldError[] {
  const where = target === 'json' ? 'body' : target;
  return error.issues.map((issue) => ({
    path: issue.path.length > 0 ? issue.path.join('.') : where,
    message: messageOf(issue),
  }));
}

/** 422 `validation_failed` listing each offending path. */
export function invalidRequest(errors: readonly FieldError[]): SandboxError {
  return new SandboxError('validation_failed', 'The request is invalid.', { errors });
}

function messageOf(issue: Issue): string {
  if (issue.code === 'unrecognized_keys') return `unknown field(s): ${issue.keys.join(', ')}`;
  // A record key that broke its own schema: its message says which rule.
  if (issue.code === 'invalid_key') return issue.issues[0]?.message ?? issue.message;
  return issue.message;
}
