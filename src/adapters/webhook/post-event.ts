/** One delivery attempt of an event to a webhook endpoint: a signed JSON POST with a time limit. */
import type { SandboxEvent } from '../../core/events.js';
import { EVENT_ID_HEADER, SIGNATURE_HEADER, signatureHeader } from './signature.js';

export type DeliveryOutcome =
  | { readonly ok: true; readonly status: number }
  /** `retry` false: the endpoint refused the event for good (a 4xx other than 408 and 429). */
  | { readonly ok: false; readonly retry: boolean; readonly reason: string };

/** POSTs `event` to `url`, signed with `secret`; answers what came of it, never throws. */
export async function postEvent(
  url: string,
  secret: string,
  event: SandboxEvent,
  options: { readonly timeoutMs: number; readonly now?: () => number },
): Promise<DeliveryOutcome> {
  const body = JSON.stringify(event);
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        [EVENT_ID_HEADER]: event.id,
        [SIGNATURE_HEADER]: signatureHeader(secret, body, (options.now ?? Date.now)()),
      },
      body,
      redirect: 'manual',
      signal: AbortSignal.timeout(options.timeoutMs),
    });
    await response.body?.cancel();
    if (response.status >= 200 && response.status < 300) return { ok: true, status: response.status };
    const retry = response.status >= 500 || response.status === 408 || response.status === 429;
    return { ok: false, retry, reason: `answered ${response.status}` };
  } catch (error) {
    const reason = error instanceof Error ? error.name : 'unknown error';
    return { ok: false, retry: true, reason: `not delivered (${reason})` };
  }
}
