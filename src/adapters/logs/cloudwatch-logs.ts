/**
 * Sandbox logs on AWS: the awslogs driver of the sandbox tasks writes each task's output to the log
 * stream `<streamPrefix>/<containerName>/<taskId>` of its profile's log group. Read with
 * GetLogEvents: a tail takes the newest events (`startFromHead: false`, `limit`, `startTime`); a
 * follow continues from a `nextForwardToken`. A position is `<skip>:<token>`, the token of a page
 * (empty: the stream's head) and how many of its events were answered already, so an answer cut by
 * its bounds in the middle of a page resumes exactly where it stopped.
 */
import {
  type CloudWatchLogsClient,
  GetLogEventsCommand,
  type GetLogEventsCommandInput,
  type GetLogEventsCommandOutput,
  type OutputLogEvent,
} from '@aws-sdk/client-cloudwatch-logs';
import { logLine, messageBytes } from '../../core/log-lines.js';
import {
  LOG_BOUNDS,
  type LogLine,
  type LogReadRequest,
  type LogReadResult,
  LogsUnavailableError,
  type SandboxLogs,
} from '../../core/logs-port.js';
import type { Session } from '../../core/model.js';
import { errorName } from '../sdk-errors.js';

/** Where one profile's tasks log: the awslogs options of its task definition. */
export interface SandboxLogStream {
  readonly logGroupName: string;
  readonly streamPrefix: string;
  readonly containerName: string;
}

/** Profile name -> where its tasks log. */
export type SandboxLogStreams = Readonly<Record<string, SandboxLogStream>>;

/** The id ECS gives a task: the last part of its ARN (`task/<cluster>/<id>`). */
const TASK_ARN = /^arn:aws[a-z-]*:ecs:[a-z0-9-]+:\d{12}:task\/[A-Za-z0-9_-]+\/([A-Za-z0-9]{1,64})$/;
/** Events a follow asks for per page; always the same, so a page read again holds the same events. */
const FOLLOW_PAGE = LOG_BOUNDS.maxLines;
/** GetLogEvents calls one read makes at most (pages can be empty while more events follow). */
const MAX_CALLS = 4;
const POSITION = /^(0|[1-9]\d{0,3}):([A-Za-z0-9/+=_-]{0,1000})$/;

interface StreamPosition {
  /** The page's token; null: the stream's head. */
  readonly token: string | null;
  /** Events of that page already answered. */
  readonly skip: number;
}

const HEAD: StreamPosition = { token: null, skip: 0 };
const positionText = (at: StreamPosition) => `${at.skip}:${at.token ?? ''}`;

function parsePosition(text: string): StreamPosition | null {
  const match = POSITION.exec(text);
  if (!match || Number(match[1]) > FOLLOW_PAGE) return null;
  return { token: match[2] === '' ? null : match[2]!, skip: Number(match[1]) };
}

function lineOf(event: OutputLogEvent): LogLine {
  return logLine((event.message ?? '').replace(/\r?\n$/, ''), event.timestamp ?? null);
}

const atOrAfter = (since: number | null) => (event: OutputLogEvent) =>
  since === null || (event.timestamp ?? 0) >= since;

/** `SandboxLogs` over CloudWatch Logs; the client needs only `logs:GetLogEvents` on the sandbox log groups. */
export class CloudWatchSandboxLogs implements SandboxLogs {
  constructor(
    private readonly client: CloudWatchLogsClient,
    private readonly streams: SandboxLogStreams,
  ) {}

  async read(session: Session, request: LogReadRequest): Promise<LogReadResult> {
    const { start, since } = request;
    const from = start.from === 'position' ? parsePosition(start.position) : HEAD;
    if (!from) return { ok: false, reason: 'invalid_position' };
    const stream = this.streamOf(session);
    // No task yet (or its profile is no longer configured): nothing has been logged that can be found.
    if (!stream) return { ok: true, lines: [], position: positionText(from) };
    try {
      return start.from === 'tail'
        ? await this.tail(stream, start.tail, since)
        : await this.follow(stream, from, since);
    } catch (error) {
      const name = errorName(error);
      // The awslogs driver creates the stream when the container starts: until then, an empty log.
      if (name === 'ResourceNotFoundException') return { ok: true, lines: [], position: positionText(from) };
      // A token CloudWatch no longer takes (they expire after 24 hours).
      if (name === 'InvalidParameterException' && from.token !== null) {
        return { ok: false, reason: 'invalid_position' };
      }
      if (name === 'InvalidParameterException') throw error;
      throw new LogsUnavailableError('GetLogEvents failed', { cause: error });
    }
  }

  /** The session's stream, from its profile's log options and the task id of its runtime ref. */
  private streamOf(
    session: Session,
  ): Pick<GetLogEventsCommandInput, 'logGroupName' | 'logStreamName'> | null {
    const taskId = session.runtimeRef ? TASK_ARN.exec(session.runtimeRef)?.[1] : undefined;
    const stream = Object.hasOwn(this.streams, session.profile) ? this.streams[session.profile] : undefined;
    if (!taskId || !stream) return null;
    return {
      logGroupName: stream.logGroupName,
      logStreamName: `${stream.streamPrefix}/${stream.containerName}/${taskId}`,
    };
  }

  private get(input: GetLogEventsCommandInput): Promise<GetLogEventsCommandOutput> {
    return this.client.send(new GetLogEventsCommand(input));
  }

  /** The newest `count` events (at or after `since`), within the bounds; the position after them. */
  private async tail(
    stream: Pick<GetLogEventsCommandInput, 'logGroupName' | 'logStreamName'>,
    count: number,
    since: number | null,
  ): Promise<LogReadResult> {
    const limit = Math.min(count, LOG_BOUNDS.maxLines);
    const page = { ...stream, startFromHead: false, limit, ...(since === null ? {} : { startTime: since }) };
    const newest = await this.get(page);
    let events = newest.events ?? [];
    // A page can be empty while older events exist: step back a few pages for them.
    let backward = newest.nextBackwardToken;
    for (let call = 1; events.length === 0 && backward && call < MAX_CALLS; call += 1) {
      const older = await this.get({ ...page, nextToken: backward });
      events = older.events ?? [];
      if (older.nextBackwardToken === backward) break;
      backward = older.nextBackwardToken;
    }
    const lines: LogLine[] = [];
    let bytes = 0;
    for (const event of events.filter(atOrAfter(since)).reverse()) {
      const line = lineOf(event);
      if (lines.length >= limit || bytes + messageBytes(line) > LOG_BOUNDS.maxBytes) break;
      bytes += messageBytes(line);
      lines.push(line);
    }
    lines.reverse();
    const forward = newest.nextForwardToken;
    return { ok: true, lines, position: positionText(forward ? { token: forward, skip: 0 } : HEAD) };
  }

  /** The events after `from`, oldest first, within the bounds; the position after the last one. */
  private async follow(
    stream: Pick<GetLogEventsCommandInput, 'logGroupName' | 'logStreamName'>,
    from: StreamPosition,
    since: number | null,
  ): Promise<LogReadResult> {
    const lines: LogLine[] = [];
    let bytes = 0;
    let at = from;
    const wanted = atOrAfter(since);
    for (let call = 0; call < MAX_CALLS; call += 1) {
      const page = await this.get({
        ...stream,
        startFromHead: true,
        limit: FOLLOW_PAGE,
        ...(at.token === null ? {} : { nextToken: at.token }),
      });
      const events = page.events ?? [];
      let taken = at.skip;
      for (const event of events.slice(at.skip)) {
        if (wanted(event)) {
          const line = lineOf(event);
          if (lines.length >= LOG_BOUNDS.maxLines || bytes + messageBytes(line) > LOG_BOUNDS.maxBytes) {
            return { ok: true, lines, position: positionText({ token: at.token, skip: taken }) };
          }
          bytes += messageBytes(line);
          lines.push(line);
        }
        taken += 1;
      }
      const next = page.nextForwardToken;
      // The end of the stream: CloudWatch answers the token it was given.
      if (!next || next === at.token) {
        at = { token: at.token, skip: Math.max(taken, at.skip) };
        break;
      }
      at = { token: next, skip: 0 };
      if (lines.length >= LOG_BOUNDS.maxLines) break;
    }
    return { ok: true, lines, position: positionText(at) };
  }
}
