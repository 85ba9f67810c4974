/**
 * Local mode's webhook: every lifecycle event POSTed to `SANDBOX_WEBHOOK_URL`, signed as on AWS
 * (src/adapters/webhook/signature.ts), one at a time in order. A failed delivery is retried with
 * growing pauses (0.5 s doubling to 30 s) until the retry window is over, then dropped and logged;
 * the API never waits for it. The queue is bounded: past its size the oldest event is dropped.
 */

import { postEvent } from '../adapters/webhook/post-event.js';
import type { SandboxEvent } from '../core/events.js';
import type { Logger } from '../core/ports.js';

export interface WebhookSenderOptions {
  readonly url: string;
  readonly secret: string;
  readonly logger: Logger;
  /** How long an event is retried before it is dropped. @default 600_000 */
  readonly retryWindowMs?: number;
  /** One attempt's time limit. @default 5_000 */
  readonly timeoutMs?: number;
  /** Events waiting at most. @default 10_000 */
  readonly maxQueued?: number;
  /** Pause before the first retry; doubles per attempt up to 30 s. @default 500 */
  readonly firstRetryMs?: number;
}

const MAX_RETRY_PAUSE_MS = 30_000;

export class WebhookSender {
  private readonly queue: SandboxEvent[] = [];
  private working: Promise<void> | null = null;
  private stopped = false;
  private cancelPause: (() => void) | null = null;
  /** Events delivered and dropped so far (for tests and the start-up log). */
  delivered = 0;
  dropped = 0;

  constructor(private readonly options: WebhookSenderOptions) {}

  /** Queues events for delivery, in order. */
  enqueue(events: readonly SandboxEvent[]): void {
    if (this.stopped) return;
    const max = this.options.maxQueued ?? 10_000;
    for (const event of events) {
      this.queue.push(event);
      if (this.queue.length > max) {
        const lost = this.queue.shift()!;
        this.dropped += 1;
        this.options.logger.error('webhook queue full: an event was dropped', { eventId: lost.id });
      }
    }
    this.working ??= this.work().finally(() => {
      this.working = null;
      if (this.queue.length > 0 && !this.stopped) this.enqueue([]);
    });
  }

  /** Waits up to `ms` for the queue to empty, then stops; undelivered events are logged as dropped. */
  async stop(ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    while (this.queue.length > 0 && Date.now() < deadline && this.working) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    this.stopped = true;
    this.cancelPause?.();
    await this.working;
    if (this.queue.length > 0) {
      this.options.logger.warn('stopping with webhook events undelivered', { events: this.queue.length });
      this.dropped += this.queue.length;
      this.queue.length = 0;
    }
  }

  private async work(): Promise<void> {
    const { url, secret, logger } = this.options;
    const window = this.options.retryWindowMs ?? 600_000;
    while (this.queue.length > 0 && !this.stopped) {
      const event = this.queue[0]!;
      const giveUpAt = Date.now() + window;
      let pause = this.options.firstRetryMs ?? 500;
      for (;;) {
        const outcome = await postEvent(url, secret, event, { timeoutMs: this.options.timeoutMs ?? 5_000 });
        if (outcome.ok) {
          this.delivered += 1;
          break;
        }
        if (!outcome.retry || Date.now() + pause > giveUpAt || this.stopped) {
          if (!this.stopped) {
            this.dropped += 1;
            logger.error('webhook delivery failed; the event is dropped', {
              eventId: event.id,
              reason: outcome.reason,
            });
          }
          break;
        }
        logger.warn('webhook delivery failed; retrying', {
          eventId: event.id,
          reason: outcome.reason,
          inMs: pause,
        });
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, pause);
          this.cancelPause = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.cancelPause = null;
        pause = Math.min(pause * 2, MAX_RETRY_PAUSE_MS);
      }
      if (this.stopped) return;
      this.queue.shift();
    }
  }
}
