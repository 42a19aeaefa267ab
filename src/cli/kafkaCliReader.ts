// `consume`'s reads: chosen partitions of one topic from offsets kept here, through the shared
// group-less reader (src/genie/topicReader.ts; `consume -g` adds the group around it), with
// records turned into the CLI's text form.

import type { Consumer } from '@platformatic/kafka';
import { type ReadRecord, type ReadResult, TopicReader } from '../genie/topicReader.js';
import type { RecordOut } from './kafkaCliMessages.js';

export const readerDefaults = { maxWaitMs: 500, fetchBytesMax: 8 * 1024 * 1024, partitionBytesMax: 2 * 1024 * 1024 };

export interface ReadBatch extends Omit<ReadResult, 'records'> {
  /** Records in offset order per partition (partitions one after another). */
  records: RecordOut[];
}

const text = (b: Buffer | null | undefined): string | null => (b === null || b === undefined ? null : b.toString('utf8'));

/** A record as `consume` prints it (pure). */
export function recordOut(topic: string, r: ReadRecord): RecordOut {
  return {
    topic,
    partition: r.partition,
    offset: r.offset,
    timestamp: r.timestamp,
    key: text(r.key),
    value: text(r.value),
    headers: r.headers.map(([k, v]) => [text(k) ?? '', text(v) ?? '']),
  };
}

export class PartitionReader {
  private readonly reader: TopicReader;

  constructor(
    consumer: Consumer<Buffer, Buffer, Buffer, Buffer>,
    readonly topic: string,
  ) {
    this.reader = new TopicReader(consumer, topic, readerDefaults);
  }

  async read(positions: ReadonlyMap<number, bigint>): Promise<ReadBatch> {
    const r = await this.reader.read(positions);
    return { ...r, records: r.records.map((x) => recordOut(this.topic, x)) };
  }
}
