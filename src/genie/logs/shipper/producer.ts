// The shipper's own Kafka producer: records arrive already encoded (key and value as bytes, the
// partition chosen once per source), so none of the generic Publisher's per-record work is done
// again here: no serializers, no headers, no partition hash per record. Idempotent with acks=all,
// one Produce at a time (the client's idempotent sequences allow no more); calls that arrive while
// one is in flight go out together in the next one. The caller (LogShipper) bounds how many
// bytes it hands over (produceBytesMax), which also bounds what one Produce carries. Also here:
// the record-level helpers the shipper uses per line (timestamps, partition, "too large" errors).

import { murmur2, Producer } from '@platformatic/kafka';
import { clientBase, type KafkaEndpoint, kafkaErrorIds, type PublisherOptions } from '../../kafka.js';
import { ResilientProducer } from '../../resilientProducer.js';

/** One log event as the shipper hands it to Kafka (its Ready entries are these). */
export interface LogRecord {
  topic: string;
  key: Buffer;
  value: Buffer;
  /** murmur2(key) as the client's default partitioner computes it; the client takes it modulo the partition count. */
  partition: number;
}

/** What the shipper needs of a producer (tests pass a fake one to play an absent Kafka). */
export interface LogPublisher {
  /** Resolves once Kafka acknowledged every record of the call; rejects with the send's error. */
  publish(records: readonly LogRecord[]): Promise<void>;
  close(): Promise<void>;
}

interface Call {
  records: readonly LogRecord[];
  resolve: () => void;
  reject: (e: Error) => void;
}

export class LogProducer implements LogPublisher {
  /** A fresh idempotent producer after a failed send (see resilientProducer.ts). */
  private readonly producer: ResilientProducer<Buffer, Buffer, Buffer, Buffer>;
  private queue: Call[] = [];
  private sending: Promise<void> | undefined;
  private closed = false;

  constructor(kafka: KafkaEndpoint, compression: PublisherOptions['compression']) {
    const make = () =>
      new Producer<Buffer, Buffer, Buffer, Buffer>({
        ...clientBase(kafka),
        idempotent: true,
        acks: -1,
        autocreateTopics: false,
        compression,
      });
    this.producer = new ResilientProducer(make);
  }

  publish(records: readonly LogRecord[]): Promise<void> {
    if (this.closed) return Promise.reject(new Error('the log producer is closed'));
    if (records.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ records, resolve, reject });
      if (this.sending === undefined) this.sending = this.sendQueued();
    });
  }

  /** Sends everything queued, one Produce at a time, until the queue is empty. */
  private async sendQueued(): Promise<void> {
    while (this.queue.length > 0) {
      const calls = this.queue;
      this.queue = [];
      // The client copies what it needs from each message and leaves the array alone.
      const messages = (calls.length === 1 ? calls[0]!.records : calls.flatMap((c) => c.records)) as LogRecord[];
      try {
        await this.producer.send({ messages });
        for (const c of calls) c.resolve();
      } catch (e) {
        const err = e instanceof Error ? e : new Error(String(e));
        for (const c of calls) c.reject(err);
      }
    }
    this.sending = undefined;
  }

  /** Waits for what was handed over to be sent (or fail), then closes the client. */
  async close(): Promise<void> {
    this.closed = true;
    await this.sending;
    await this.producer.close();
  }
}

/** Kafka's answers that a record or batch is larger than the topic or broker takes. */
const TOO_LARGE = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE']);

/** Whether a (possibly nested, as @platformatic/kafka reports) produce error says "too large". */
export function isTooLarge(e: unknown): boolean {
  return [...kafkaErrorIds(e)].some((id) => TOO_LARGE.has(id));
}

/** The last timestamp handed out (whole seconds and nanoseconds): every line gets a later one than the line before. */
let lastSecond = 0;
let lastNanos = 0;
let prefixSecond = -1;
let secondPrefix = '';

/**
 * Now as RFC 3339 with nanoseconds, strictly increasing from line to line. Loki (and our store)
 * keeps one of several entries with the same stream, timestamp and line, so identical lines read
 * in one chunk must not share a timestamp; a re-push of the same Kafka record keeps its timestamp
 * and is still deduplicated. The seconds part is formatted once per second (formatting whole
 * timestamps per line was a noticeable part of the shipper's CPU).
 */
export function readAt(): string {
  // Microseconds since the epoch fit a double exactly (2^53 µs is year 2255); nanoseconds do not.
  const us = Math.round((performance.timeOrigin + performance.now()) * 1000);
  const second = Math.floor(us / 1e6);
  const nanos = (us - second * 1e6) * 1000;
  if (second > lastSecond || (second === lastSecond && nanos > lastNanos)) {
    lastSecond = second;
    lastNanos = nanos;
  } else if (++lastNanos === 1e9) {
    lastSecond++;
    lastNanos = 0;
  }
  if (lastSecond !== prefixSecond) {
    prefixSecond = lastSecond;
    secondPrefix = new Date(lastSecond * 1000).toISOString().slice(0, 19);
  }
  return `${secondPrefix}.${String(lastNanos).padStart(9, '0')}Z`;
}

/** murmur2 of the key as the client's default partitioner takes it (it reduces it modulo the partition count). */
export const partitionOf = (key: Buffer): number => murmur2(key) >>> 0;
