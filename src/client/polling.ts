/**
 * The client's two loops over plain requests: waiting for a sandbox to run (long-polls bounded by the
 * deadline, backing off on 503 and 429) and following a sandbox's logs (polling with the cursor).
 */
import { isApiError, SandboxEndedError, WaitTimeoutError } from './errors.js';
import { sleep } from './sleep.js';
import { backoffMs } from './transport.js';
import type { LogLine, LogsPage, LogsQuery, Sandbox } from './types.js';

/** The longest `waitSeconds` the API accepts. */
export const MAX_WAIT_SECONDS = 25;
/** An answer that came back sooner than this while provisioning is not asked again at once. */
const MIN_POLL_MS = 1_000;

/** What `waitUntilRunning` and `followLogs` call. */
export interface PollingCalls {
  get(chatId: string, options: { waitSeconds?: number; signal?: AbortSignal }): Promise<Sandbox>;
  logs(chatId: string, query: LogsQuery, options: { signal?: AbortSignal }): Promise<LogsPage>;
}

/** Reported after every answer while waiting. */
export interface WaitProgress {
  readonly sandbox: Sandbox;
  readonly elapsedMs: number;
  /** How many answers so far, this one included. */
  readonly polls: number;
}

export interface WaitOptions {
  /** How long to wait in all. */
  readonly timeoutMs: number;
  readonly onProgress?: (progress: WaitProgress) => void;
  /** Aborting rejects with the signal's reason. */
  readonly signal?: AbortSignal;
}

const isEnded = (status: Sandbox['status']) => status !== 'provisioning' && status !== 'running';

/**
 * Long-polls `GET ...?waitSeconds=` (bounded by what is left of the deadline) until the sandbox runs.
 * 503 and 429 answers are waited out (their `Retry-After`, else backoff) within the deadline; any
 * other error is thrown as it is.
 */
export async function waitUntilRunning(
  calls: PollingCalls,
  chatId: string,
  options: WaitOptions,
): Promise<Sandbox> {
  const { signal } = options;
  const started = Date.now();
  const deadline = started + options.timeoutMs;
  const left = () => Math.max(0, deadline - Date.now());
  let last: Sandbox | null = null;
  let polls = 0;
  let refusals = 0;
  for (;;) {
    if (left() <= 0) {
      const status = last ? `still ${last.status}` : 'no answer';
      throw new WaitTimeoutError(
        `chat ${chatId}: ${status} after ${Math.round((Date.now() - started) / 1000)}s`,
        last,
        Date.now() - started,
      );
    }
    const asked = Date.now();
    try {
      const waitSeconds = Math.min(MAX_WAIT_SECONDS, Math.floor(left() / 1000));
      last = await calls.get(chatId, { waitSeconds, ...(signal ? { signal } : {}) });
      refusals = 0;
    } catch (error) {
      if (signal?.aborted || !(isApiError(error) && (error.status === 503 || error.status === 429)))
        throw error;
      refusals += 1;
      const delayMs = error.retryAfterSeconds !== null ? error.retryAfterSeconds * 1000 : backoffMs(refusals);
      await sleep(Math.min(delayMs, left()), signal);
      continue;
    }
    polls += 1;
    options.onProgress?.({ sandbox: last, elapsedMs: Date.now() - started, polls });
    if (last.status === 'running') return last;
    if (isEnded(last.status)) {
      const reason = last.stopReason ? ` (${last.stopReason})` : '';
      throw new SandboxEndedError(
        `chat ${chatId}: sandbox is ${last.status}${reason}`,
        last,
        Date.now() - started,
      );
    }
    const held = Date.now() - asked;
    if (held < MIN_POLL_MS) await sleep(Math.min(MIN_POLL_MS - held, left()), signal);
  }
}

export interface FollowLogsOptions {
  /** Lines to start with (the server's default is 100). */
  readonly tail?: number;
  readonly since?: Date | string;
  /** Between polls (default 1000 ms). */
  readonly intervalMs?: number;
  /** Ends the iteration (without an error) when aborted. */
  readonly signal?: AbortSignal;
}

/**
 * The sandbox's log lines: the latest ones, then each new one as a poll with the cursor finds it.
 * Ends when the sandbox has ended and a poll after that found nothing new, or when `signal` aborts.
 */
export async function* followLogs(
  calls: PollingCalls,
  chatId: string,
  options: FollowLogsOptions = {},
): AsyncGenerator<LogLine> {
  const { signal } = options;
  const withSignal = signal ? { signal } : {};
  let query: LogsQuery = {
    ...(options.tail === undefined ? {} : { tail: options.tail }),
    ...(options.since === undefined ? {} : { since: options.since }),
  };
  let ended = false;
  try {
    while (!signal?.aborted) {
      const page = await calls.logs(chatId, query, withSignal);
      query = { cursor: page.nextCursor };
      yield* page.lines;
      if (page.lines.length === 0) {
        if (ended) return;
        // Lines written just before the end may come after the end is seen: poll once more at once.
        ended = isEnded((await calls.get(chatId, withSignal)).status);
        if (ended) continue;
      }
      await sleep(options.intervalMs ?? 1_000, signal);
    }
  } catch (error) {
    if (signal?.aborted) return;
    throw error;
  }
}
