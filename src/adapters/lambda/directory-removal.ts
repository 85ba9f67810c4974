/**
 * Removing a purged chat's directory on AWS. Only the storage function has the file system mounted
 * (it runs inside the VPC; the reconciler, outside it, cannot reach EFS), so the reconciler invokes
 * it directly with a removal request. The storage function checks the request against the chat's
 * purge mark before it removes anything, so even a stray invocation removes no live chat's files.
 */
import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import { type ChatKey, TENANT_PATTERN } from '../../core/model.js';
import * as z from '../../zod.js';

/** What the reconciler sends the storage function: remove this chat's directory, purging since `purgingAt`. */
export interface DirectoryRemoval {
  readonly action: 'removeChatDirectory';
  readonly tenant: string;
  readonly chatId: string;
  readonly purgingAt: number;
}

/** What the storage function answers: removed, or refused because the chat is not purging under that mark. */
export interface DirectoryRemovalResult {
  readonly removed: boolean;
  readonly reason?: string;
}

/** Chat ids as the control plane stores them: canonical UUIDs, so one can never name a path. */
const CHAT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const Removal = z.strictObject({
  action: z.literal('removeChatDirectory'),
  tenant: z.string().check(z.regex(TENANT_PATTERN)),
  chatId: z.string().check(z.regex(CHAT_ID)),
  purgingAt: z.int().check(z.minimum(0)),
});

/** The removal request an event carries, or null when the event is something else (an HTTP request). */
export function directoryRemovalOf(event: unknown): DirectoryRemoval | null {
  if (typeof event !== 'object' || event === null || !('action' in event)) return null;
  const parsed = Removal.safeParse(event);
  if (!parsed.success)
    throw new Error(`malformed directory removal request: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

/** Asks the storage function to remove chats' directories, synchronously. */
export class LambdaDirectoryRemover {
  constructor(
    private readonly lambda: LambdaClient,
    private readonly functionName: string,
  ) {}

  /** Removes the chat's directory; throws when the function failed or refused. */
  async remove(key: ChatKey, purgingAt: number): Promise<void> {
    const request: DirectoryRemoval = { action: 'removeChatDirectory', ...key, purgingAt };
    const answer = await this.lambda.send(
      new InvokeCommand({
        FunctionName: this.functionName,
        InvocationType: 'RequestResponse',
        Payload: new TextEncoder().encode(JSON.stringify(request)),
      }),
    );
    const text = answer.Payload ? new TextDecoder().decode(answer.Payload) : '';
    if (answer.FunctionError) {
      // The payload is Lambda's error object: { errorType, errorMessage, trace }.
      const message = (safeJson(text) as { errorMessage?: unknown } | null)?.errorMessage;
      throw new Error(
        `the storage function failed to remove the chat's directory (${answer.FunctionError}): ${
          typeof message === 'string' ? message : 'no message'
        }`,
      );
    }
    const result = safeJson(text) as DirectoryRemovalResult | null;
    if (result?.removed !== true) {
      throw new Error(`the storage function did not remove the chat's directory: ${result?.reason ?? text}`);
    }
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
