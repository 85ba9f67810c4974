/**
 * The webhook signature, the same on AWS and in local mode: `Webhook-Signature: t=<unix seconds>,
 * v1=<hex HMAC-SHA256 of "<t>.<body>" with the endpoint's secret>`. The receiver recomputes it over
 * the raw body, compares in constant time, and refuses a `t` too far from its own clock (replays).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'Webhook-Signature';
export const EVENT_ID_HEADER = 'Webhook-Id';
/** How far a signature's time may be from the receiver's clock before `verifySignature` refuses it. */
export const SIGNATURE_TOLERANCE_SECONDS = 300;

function mac(secret: string, timestamp: number, body: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
}

/** The header value for `body` sent at `nowMs`. */
export function signatureHeader(secret: string, body: string, nowMs: number): string {
  const timestamp = Math.floor(nowMs / 1000);
  return `t=${timestamp},v1=${mac(secret, timestamp, body)}`;
}

/** Whether `header` signs `body` with `secret`, within the tolerance of `nowMs`. */
export function verifySignature(secret: string, body: string, header: string, nowMs: number): boolean {
  const parts = new Map(
    header.split(',').map((part) => {
      const at = part.indexOf('=');
      return [part.slice(0, at).trim(), part.slice(at + 1).trim()] as const;
    }),
  );
  const timestamp = Number(parts.get('t'));
  const given = parts.get('v1') ?? '';
  if (!Number.isInteger(timestamp) || !/^[0-9a-f]{64}$/.test(given)) return false;
  if (Math.abs(nowMs / 1000 - timestamp) > SIGNATURE_TOLERANCE_SECONDS) return false;
  return timingSafeEqual(Buffer.from(given, 'hex'), Buffer.from(mac(secret, timestamp, body), 'hex'));
}
