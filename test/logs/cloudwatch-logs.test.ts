/**
 * The CloudWatch Logs reader against aws-sdk-client-mock, with GetLogEvents answers shaped as the
 * CloudWatch Logs API reference gives them (`events` of `timestamp`, `message`, `ingestionTime`;
 * `nextForwardToken` and `nextBackwardToken`, the forward one answered unchanged at the end of the
 * stream; ResourceNotFoundException before the stream exists).
 */
import {
  CloudWatchLogsClient,
  GetLogEventsCommand,
  type GetLogEventsCommandInput,
  InvalidParameterException,
  type OutputLogEvent,
  ResourceNotFoundException,
  ServiceUnavailableException,
} from '@aws-sdk/client-cloudwatch-logs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { CloudWatchSandboxLogs } from '../../src/adapters/logs/cloudwatch-logs.js';
import { LOG_BOUNDS, type LogReadRequest, LogsUnavailableError } from '../../src/core/logs-port.js';
import type { Session } from '../../src/core/model.js';

const logsMock = mockClient(CloudWatchLogsClient);
beforeEach(() => logsMock.reset());

const TASK_ID = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
const TASK_ARN = `arn:aws:ecs:us-east-1:123456789012:task/Test-Service-Cluster/${TASK_ID}`;
const GROUP = 'Test-Service-SandboxesProfiledefaultLogs1234-abcdEFGH';
const STREAM = `default/sandbox/${TASK_ID}`;
const T = Date.parse('2026-11-22T10:00:00.000Z');
const FORWARD = (n: number) => `f/${String(38_000_000_000 + n).padEnd(56, '0')}/s`;
const BACKWARD = (n: number) => `b/${String(38_000_000_000 + n).padEnd(56, '0')}/s`;

const reader = () =>
  new CloudWatchSandboxLogs(new CloudWatchLogsClient({ region: 'us-east-1' }), {
    default: { logGroupName: GROUP, streamPrefix: 'default', containerName: 'sandbox' },
  });
const session = (overrides: Partial<Session> = {}) =>
  ({ sessionId: 's1', profile: 'default', status: 'running', runtimeRef: TASK_ARN, ...overrides }) as Session;
const event = (n: number, message = `line ${n}`): OutputLogEvent => ({
  timestamp: T + n * 1000,
  message,
  ingestionTime: T + n * 1000 + 150,
});
const page = (events: OutputLogEvent[], forward: string, backward = BACKWARD(0)) => ({
  events,
  nextForwardToken: forward,
  nextBackwardToken: backward,
  $metadata: {},
});
const inputs = (): GetLogEventsCommandInput[] =>
  logsMock.commandCalls(GetLogEventsCommand).map((call) => call.args[0].input);
const tail = (n: number, since: number | null = null): LogReadRequest => ({
  start: { from: 'tail', tail: n },
  since,
});
const at = (position: string, since: number | null = null): LogReadRequest => ({
  start: { from: 'position', position },
  since,
});

describe('CloudWatchSandboxLogs', () => {
  it("tails the newest events of the task's stream, with their times, and follows after them", async () => {
    logsMock.on(GetLogEventsCommand).resolves(page([event(1), event(2), event(3)], FORWARD(3)));
    const answer = await reader().read(session(), tail(3, T));
    expect(inputs()).toEqual([
      { logGroupName: GROUP, logStreamName: STREAM, startFromHead: false, limit: 3, startTime: T },
    ]);
    expect(answer).toEqual({
      ok: true,
      lines: [1, 2, 3].map((n) => ({ time: T + n * 1000, message: `line ${n}`, truncated: false })),
      position: `0:${FORWARD(3)}`,
    });

    logsMock.reset();
    logsMock
      .on(GetLogEventsCommand, { nextToken: FORWARD(3) })
      .resolves(page([event(4)], FORWARD(4)))
      .on(GetLogEventsCommand, { nextToken: FORWARD(4) })
      .resolves(page([], FORWARD(4)));
    const next = await reader().read(session(), at(`0:${FORWARD(3)}`));
    expect(inputs()).toEqual([
      { logGroupName: GROUP, logStreamName: STREAM, startFromHead: true, limit: 1000, nextToken: FORWARD(3) },
      { logGroupName: GROUP, logStreamName: STREAM, startFromHead: true, limit: 1000, nextToken: FORWARD(4) },
    ]);
    expect(next).toEqual({
      ok: true,
      lines: [{ time: T + 4000, message: 'line 4', truncated: false }],
      position: `0:${FORWARD(4)}`,
    });
  });

  it('reads from the head of the stream for a new session, across empty pages', async () => {
    logsMock
      .on(GetLogEventsCommand)
      .resolves(page([], FORWARD(1)))
      .on(GetLogEventsCommand, { nextToken: FORWARD(1) })
      .resolves(page([event(1), event(2)], FORWARD(2)))
      .on(GetLogEventsCommand, { nextToken: FORWARD(2) })
      .resolves(page([], FORWARD(2)));
    const answer = await reader().read(session(), { start: { from: 'start' }, since: null });
    expect(inputs()[0]).toEqual({
      logGroupName: GROUP,
      logStreamName: STREAM,
      startFromHead: true,
      limit: 1000,
    });
    expect(answer).toMatchObject({ ok: true, position: `0:${FORWARD(2)}` });
    expect(answer.ok && answer.lines.map((line) => line.message)).toEqual(['line 1', 'line 2']);
  });

  it('resumes inside a page an answer was cut in, without losing or repeating an event', async () => {
    const big = (n: number) => event(n, `${n}`.padEnd(LOG_BOUNDS.maxLineBytes, 'x'));
    const events = Array.from({ length: 20 }, (_, n) => big(n));
    logsMock
      .on(GetLogEventsCommand, { nextToken: FORWARD(0) })
      .resolves(page(events, FORWARD(20)))
      .on(GetLogEventsCommand, { nextToken: FORWARD(20) })
      .resolves(page([], FORWARD(20)));
    const first = await reader().read(session(), at(`0:${FORWARD(0)}`));
    if (!first.ok) throw new Error('refused');
    // 256 KiB of message text: 16 lines of 16 KiB.
    expect(first.lines).toHaveLength(16);
    expect(first.position).toBe(`16:${FORWARD(0)}`);
    const second = await reader().read(session(), at(first.position));
    if (!second.ok) throw new Error('refused');
    expect(second.lines.map((line) => line.message.slice(0, 2))).toEqual(['16', '17', '18', '19']);
    expect(second.position).toBe(`0:${FORWARD(20)}`);
  });

  it('cuts an event longer than 16 KiB at a character boundary and marks it', async () => {
    logsMock.on(GetLogEventsCommand).resolves(page([event(1, `${'€'.repeat(6000)}\n`)], FORWARD(1)));
    const answer = await reader().read(session(), tail(10));
    expect(answer.ok && answer.lines).toEqual([
      { time: T + 1000, message: '€'.repeat(5461), truncated: true },
    ]);
  });

  it('keeps only events at or after `since` when following', async () => {
    logsMock
      .on(GetLogEventsCommand, { nextToken: FORWARD(0) })
      .resolves(page([event(1), event(2), event(3)], FORWARD(3)))
      .on(GetLogEventsCommand, { nextToken: FORWARD(3) })
      .resolves(page([], FORWARD(3)));
    const answer = await reader().read(session(), at(`0:${FORWARD(0)}`, T + 2000));
    expect(answer.ok && answer.lines.map((line) => line.message)).toEqual(['line 2', 'line 3']);
  });

  it('answers an empty log before the stream exists, and before the task is known', async () => {
    logsMock
      .on(GetLogEventsCommand)
      .rejects(
        new ResourceNotFoundException({ message: 'The specified log stream does not exist.', $metadata: {} }),
      );
    await expect(reader().read(session(), tail(100))).resolves.toEqual({
      ok: true,
      lines: [],
      position: '0:',
    });
    await expect(reader().read(session(), at(`5:${FORWARD(9)}`))).resolves.toEqual({
      ok: true,
      lines: [],
      position: `5:${FORWARD(9)}`,
    });
    logsMock.reset();
    for (const pending of [
      session({ runtimeRef: null }),
      session({ profile: 'gone' }),
      session({ runtimeRef: 'local/s1' }),
    ]) {
      await expect(reader().read(pending, tail(100))).resolves.toEqual({
        ok: true,
        lines: [],
        position: '0:',
      });
    }
    expect(inputs()).toEqual([]);
  });

  it('refuses a position it did not write or a token CloudWatch no longer takes', async () => {
    for (const position of ['', 'x', '1001:f/1', '-1:f/1', '01:f/1', '0:f/1?x']) {
      await expect(reader().read(session(), at(position))).resolves.toEqual({
        ok: false,
        reason: 'invalid_position',
      });
    }
    logsMock
      .on(GetLogEventsCommand)
      .rejects(
        new InvalidParameterException({ message: 'The specified nextToken is invalid.', $metadata: {} }),
      );
    await expect(reader().read(session(), at(`0:${FORWARD(1)}`))).resolves.toEqual({
      ok: false,
      reason: 'invalid_position',
    });
  });

  it('reports an unavailable backend as LogsUnavailableError', async () => {
    logsMock.on(GetLogEventsCommand).rejects(
      new ServiceUnavailableException({
        message: 'The service cannot complete the request.',
        $metadata: {},
      }),
    );
    await expect(reader().read(session(), tail(10))).rejects.toBeInstanceOf(LogsUnavailableError);
    const throttled = Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
    logsMock.on(GetLogEventsCommand).rejects(throttled);
    await expect(reader().read(session(), at(`0:${FORWARD(1)}`))).rejects.toBeInstanceOf(
      LogsUnavailableError,
    );
  });
});
