// The shipper's options, their defaults and the counters it reports (shipper.ts reads them).

import { hostname } from 'node:os';
import type { Logger } from '../../../util/log.js';
import { silentLogger } from '../../../util/log.js';
import type { KafkaEndpoint, PublisherOptions } from '../../kafka.js';
import { LOGS_TOPIC, type LogSourceType } from '../logEvent.js';
import type { StartMode } from './fileTail.js';
import type { LogPublisher } from './producer.js';

export interface LogShipperOptions {
  kafka?: KafkaEndpoint;
  /** Instead of a LogProducer on `kafka`. */
  publisher?: LogPublisher;
  topic: string;
  host: string;
  /** Checkpoint file for tailed files; without it every start follows the start mode. */
  checkpointPath?: string;
  /** Where a file with no checkpoint entry starts when it exists at startup. */
  start: StartMode;
  /** Longer lines are cut to this many bytes and marked `truncated`. */
  lineBytesMax: number;
  readChunkBytes: number;
  bufferedLinesMax: number;
  bufferedBytesMax: number;
  /** One event's JSON at most (under the broker's message.max.bytes, default 1048588). */
  recordBytesMax: number;
  /**
   * Bytes of events (value, key and record overhead) in one partition's batch at most, so that no
   * batch can exceed message.max.bytes; one event alone may exceed it (up to recordBytesMax). The
   * producer holds at most producePipelineBatches times this: the next batch waits ready while
   * one is in flight.
   */
  produceBytesMax: number;
  /** Batches' worth of produceBytesMax handed to the producer and not yet acknowledged at most. */
  producePipelineBatches: number;
  /** Events per publish() call. */
  batchEventsMax: number;
  /**
   * How often files are looked at regardless of change notifications: the fallback where a
   * directory watch does not fire (network and some overlay file systems), and the only way when
   * watchFiles is off.
   */
  pollIntervalMs: number;
  /** Read a file as soon as its directory's watch (fs.watch, inotify) says it changed. */
  watchFiles: boolean;
  /** Watch events within this long of the first are read in one pass (0: a pass per event burst). */
  watchCoalesceMs: number;
  /** A renamed file is read this long more (at most pollIntervalMs) before the new file is followed. */
  rotationGraceMs: number;
  /** How soon after an acknowledgement the checkpoint is written (one write at a time). */
  checkpointDelayMs: number;
  /** How often a changed checkpoint is written regardless (start positions, empty lines). */
  checkpointIntervalMs: number;
  statsIntervalMs: number;
  retryDelayMsMax: number;
  /** How long close() waits for buffered lines to be acknowledged. */
  closeTimeoutMs: number;
  compression: PublisherOptions['compression'];
  logger: Logger;
}

export const logShipperDefaults: Omit<LogShipperOptions, 'kafka' | 'publisher' | 'checkpointPath'> = {
  topic: LOGS_TOPIC,
  host: hostname(),
  start: 'end',
  // Below Loki's (and the log store's) 256 KiB max_line_size, with room for the event's JSON.
  lineBytesMax: 192 * 1024,
  readChunkBytes: 256 * 1024,
  bufferedLinesMax: 20_000,
  bufferedBytesMax: 16 * 1024 * 1024,
  recordBytesMax: 1_000_000,
  produceBytesMax: 900_000,
  producePipelineBatches: 2,
  batchEventsMax: 2000,
  pollIntervalMs: 200,
  watchFiles: true,
  watchCoalesceMs: 50,
  rotationGraceMs: 200,
  checkpointDelayMs: 5,
  checkpointIntervalMs: 250,
  statsIntervalMs: 10_000,
  retryDelayMsMax: 5000,
  closeTimeoutMs: 10_000,
  compression: 'lz4',
  logger: silentLogger,
};

export interface ShipperStats {
  linesRead: number;
  linesShipped: number;
  linesTruncated: number;
  bytesRead: number;
  /** Lines not shipped, by reason: record_too_large (cannot fit recordBytesMax), rejected_too_large (the topic's limit is lower), buffer_full (shipLine or a 'drop' stream at the bound). */
  dropped: Record<string, number>;
  publishFailures: number;
  bufferedLines: number;
  bufferedBytes: number;
}

export interface FileSourceOptions {
  /** Docker json-file records (default: when the name ends in -json.log). */
  docker?: boolean;
}

export interface StreamSourceOptions {
  sourceType?: LogSourceType;
  /** At the bound: 'pause' the stream (the writer waits) or 'drop' lines (counted). Default pause. */
  whenFull?: 'pause' | 'drop';
  /** Fields set on every event of this source, over those parsed from the line (e.g. service). */
  fields?: Record<string, unknown>;
}
