// What the shipper hands to Kafka (LogRecord) and what it needs of a producer (LogPublisher; the
// producer itself is leanProducer.ts), and the record-level helpers the shipper uses per line
// (timestamps, partition, "too large" errors).

import { murmur2 } from '@platformatic/kafka';
import { kafkaErrorIds } from '../../kafka.js';

/** One log event as the shipper hands it to Kafka (its Ready entries are these). */
export interface LogRecord {
  topic: string;
  key: Buffer;
  /** The event's JSON, kept as the string it was built as: its bytes are written once, into the batch. */
  value: string;
  /** UTF-8 bytes of value. */
  valueBytes: number;
  /** murmur2(key) as the client's default partitioner computes it; the client takes it modulo the partition count. */
  partition: number;
}

/** What the shipper needs of a producer (tests pass a fake one to play an absent Kafka). */
export interface LogPublisher {
  /** Resolves once Kafka acknowledged every record of the call; rejects with the send's error. */
  publish(records: readonly LogRecord[]): Promise<void>;
  close(): Promise<void>;
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
/** The clock as read once per synchronous burst (a chunk's lines): µs since the epoch, or -1 when stale. */
let burstUs = -1;
const staleBurst = (): void => {
  burstUs = -1;
};

/**
 * Now as RFC 3339 with nanoseconds, strictly increasing from line to line. Loki (and our store)
 * keeps one of several entries with the same stream, timestamp and line, so identical lines read
 * in one chunk must not share a timestamp; a re-push of the same Kafka record keeps its timestamp
 * and is still deduplicated. The clock is read once per burst of lines handled together (the
 * lines of one chunk: the rest of the burst counts on from it by nanoseconds), and the seconds
 * part is formatted once per second (formatting whole timestamps per line was a noticeable part
 * of the shipper's CPU).
 */
export function readAt(): string {
  if (burstUs < 0) {
    // Microseconds since the epoch fit a double exactly (2^53 µs is year 2255); nanoseconds do not.
    burstUs = Math.round((performance.timeOrigin + performance.now()) * 1000);
    queueMicrotask(staleBurst);
  }
  const second = Math.floor(burstUs / 1e6);
  const nanos = (burstUs - second * 1e6) * 1000;
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
