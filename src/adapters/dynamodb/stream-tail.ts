/**
 * Follows a table's change stream with the DynamoDB Streams API, the way a Lambda event source
 * mapping does on AWS: every shard read in order, a split shard's parent before its children, and
 * each batch of records handed on before the next is read. Local mode uses it to turn the session
 * table's changes into events (on AWS, Lambda reads the stream for the publisher function).
 */
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  ExpiredIteratorException,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type Shard,
  type _Record as StreamRecord,
  TrimmedDataAccessException,
} from '@aws-sdk/client-dynamodb-streams';
import type { Logger } from '../../core/ports.js';
import { LOCAL_REGION, type StaticCredentials } from './client.js';

/** A Streams client for DynamoDB Local at `endpoint`, with the same keys as the table's client. */
export function localStreamsClient(endpoint: string, credentials: StaticCredentials): DynamoDBStreamsClient {
  return new DynamoDBStreamsClient({
    endpoint,
    region: LOCAL_REGION,
    credentials: { accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey },
  });
}

export interface StreamTailOptions {
  /** Where to begin in the shards open at the start: their oldest record, or what comes next. */
  readonly from: 'oldest' | 'latest';
  /** Pause between reads when the stream has nothing new. @default 100 */
  readonly idleMs?: number;
  readonly logger: Logger;
}

interface ShardState {
  readonly shard: Shard;
  iterator: string | null;
  lastSequence: string | null;
  done: boolean;
}

const DISCOVER_EVERY_MS = 1_000;
const ERROR_PAUSE_MS = 1_000;

export class StreamTail {
  private readonly shards = new Map<string, ShardState>();
  private running = false;
  private loop: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  private discoveredAt = 0;
  private first = true;

  constructor(
    private readonly client: DynamoDBStreamsClient,
    private readonly streamArn: string,
    private readonly onRecords: (records: readonly StreamRecord[]) => Promise<void>,
    private readonly options: StreamTailOptions,
  ) {}

  /** Starts reading; records go to `onRecords` one batch at a time, in stream order per shard. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** Stops after the batch in hand; answers once nothing more will be handed on. */
  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
  }

  /** Reads until every shard is at its end now: for tests and for a clean shutdown. */
  async drain(): Promise<void> {
    await this.discover();
    while (await this.readOnce()) {
      // keep reading while records come
    }
  }

  private async run(): Promise<void> {
    while (this.running) {
      let read = false;
      try {
        if (Date.now() - this.discoveredAt >= DISCOVER_EVERY_MS) await this.discover();
        read = await this.readOnce();
      } catch (error) {
        this.options.logger.warn('reading the table stream failed; retrying', { error });
        await this.pause(ERROR_PAUSE_MS);
        continue;
      }
      if (!read) await this.pause(this.options.idleMs ?? 100);
    }
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }

  /** Lists the stream's shards and starts reading the new ones. */
  private async discover(): Promise<void> {
    let start: string | undefined;
    do {
      const { StreamDescription } = await this.client.send(
        new DescribeStreamCommand({ StreamArn: this.streamArn, ExclusiveStartShardId: start }),
      );
      for (const shard of StreamDescription?.Shards ?? []) {
        if (!shard.ShardId || this.shards.has(shard.ShardId)) continue;
        const open = !shard.SequenceNumberRange?.EndingSequenceNumber;
        // At the start, `latest` skips what closed shards hold and what open ones hold so far.
        const skip = this.first && this.options.from === 'latest';
        if (skip && !open) {
          this.shards.set(shard.ShardId, { shard, iterator: null, lastSequence: null, done: true });
          continue;
        }
        this.shards.set(shard.ShardId, {
          shard,
          iterator: await this.iterator(shard.ShardId, skip ? 'LATEST' : 'TRIM_HORIZON'),
          lastSequence: null,
          done: false,
        });
      }
      start = StreamDescription?.LastEvaluatedShardId;
    } while (start);
    this.first = false;
    this.discoveredAt = Date.now();
  }

  private async iterator(
    shardId: string,
    type: 'LATEST' | 'TRIM_HORIZON' | 'AFTER_SEQUENCE_NUMBER',
    sequence?: string,
  ): Promise<string | null> {
    const { ShardIterator } = await this.client.send(
      new GetShardIteratorCommand({
        StreamArn: this.streamArn,
        ShardId: shardId,
        ShardIteratorType: type,
        ...(sequence ? { SequenceNumber: sequence } : {}),
      }),
    );
    return ShardIterator ?? null;
  }

  /** One read of every shard that may be read now; answers whether any records came. */
  private async readOnce(): Promise<boolean> {
    let any = false;
    for (const state of this.shards.values()) {
      if (state.done || !state.iterator) continue;
      // A split shard's records come first: its children wait until it is read to its end.
      const parent = state.shard.ParentShardId ? this.shards.get(state.shard.ParentShardId) : undefined;
      if (parent && !parent.done) continue;
      const records = await this.read(state);
      if (records.length > 0) {
        any = true;
        await this.onRecords(records);
      }
    }
    return any;
  }

  private async read(state: ShardState): Promise<StreamRecord[]> {
    const shardId = state.shard.ShardId!;
    try {
      const answer = await this.client.send(
        new GetRecordsCommand({ ShardIterator: state.iterator!, Limit: 1000 }),
      );
      const records = answer.Records ?? [];
      const last = records.at(-1)?.dynamodb?.SequenceNumber;
      if (last) state.lastSequence = last;
      state.iterator = answer.NextShardIterator ?? null;
      if (!state.iterator) state.done = true;
      return records;
    } catch (error) {
      if (error instanceof ExpiredIteratorException) {
        state.iterator = state.lastSequence
          ? await this.iterator(shardId, 'AFTER_SEQUENCE_NUMBER', state.lastSequence)
          : await this.iterator(shardId, 'TRIM_HORIZON');
        return [];
      }
      if (error instanceof TrimmedDataAccessException) {
        state.iterator = await this.iterator(shardId, 'TRIM_HORIZON');
        return [];
      }
      throw error;
    }
  }
}
