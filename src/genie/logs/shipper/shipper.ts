// LogShipper: the I/O shell around the pure parts (lines.ts, parse.ts, checkpoint.ts). It tails
// files (fileTail.ts), reads streams (stdin, a child's stdout) and takes single lines from the
// process itself (shipLine), turns them into LogEvents and produces them to `logs.dev` through
// Publisher (batched, compressed, acks=all, idempotent), keyed by source.
//
// Bounds: at most bufferedLinesMax lines / bufferedBytesMax bytes are read and not yet
// acknowledged. At the bound files are not read (the files are the buffer), paused streams stop
// being read (pipe back-pressure reaches the writer), and shipLine drops and counts. Bytes in the
// Publisher are kept under produceBytesMax, so no Produce request can exceed the broker's
// message.max.bytes however lines are batched. A failed produce is retried with backoff, forever:
// nothing is dropped because Kafka is away, and memory stays at the bounds meanwhile.

import { hostname } from 'node:os';
import type { Readable } from 'node:stream';
import type { Logger } from '../../../util/log.js';
import { silentLogger } from '../../../util/log.js';
import type { EncodedEvent } from '../../jobs/events.js';
import { type KafkaEndpoint, Publisher, type PublisherOptions } from '../../kafka.js';
import { LOGS_TOPIC, type LogEvent, type LogSourceType } from '../logEvent.js';
import { type CheckpointEntry, loadCheckpoint, serializeCheckpoint, writeCheckpoint } from './checkpoint.js';
import { FileTail, type Generation, type StartMode } from './fileTail.js';
import { type Line, LineSplitter } from './lines.js';
import {
  DockerJoiner,
  type DockerRecord,
  encodeLogEvent,
  type LineContext,
  looksLikeDockerLog,
  parseDockerLine,
  toLogEvent,
} from './parse.js';

/** What the shipper needs of a Publisher (tests pass a fake one to play an absent Kafka). */
export interface LogPublisher {
  publish(topic: string, events: readonly EncodedEvent[]): Promise<void>;
  close(): Promise<void>;
}

export interface LogShipperOptions {
  kafka?: KafkaEndpoint;
  /** Instead of a Publisher on `kafka`. */
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
   * Bytes of events (value, key and record overhead) inside the Publisher at most, so that no
   * Produce request can exceed message.max.bytes; one event alone may exceed it (up to recordBytesMax).
   */
  produceBytesMax: number;
  /** Events per publish() call. */
  batchEventsMax: number;
  pollIntervalMs: number;
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
  readChunkBytes: 64 * 1024,
  bufferedLinesMax: 20_000,
  bufferedBytesMax: 16 * 1024 * 1024,
  recordBytesMax: 1_000_000,
  produceBytesMax: 900_000,
  batchEventsMax: 2000,
  pollIntervalMs: 200,
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

interface Ready {
  seq: number;
  key: string;
  value: string;
  bytes: number;
  done: () => void;
}

const EMPTY_HEADERS = new Map<string, string>();
/** A record's bytes beyond its key and value in a record batch (length, attributes, deltas, counts). */
const recordOverheadBytes = 24;
/** Kafka's answers that a record or batch is larger than the topic or broker takes. */
const TOO_LARGE = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE']);

/** Whether a (possibly nested, as @platformatic/kafka reports) produce error says "too large". */
function isTooLarge(e: unknown, depth = 0): boolean {
  if (e === null || typeof e !== 'object' || depth > 4) return false;
  const x = e as { apiId?: unknown; errors?: unknown; cause?: unknown };
  if (typeof x.apiId === 'string' && TOO_LARGE.has(x.apiId)) return true;
  if (Array.isArray(x.errors) && x.errors.some((c) => isTooLarge(c, depth + 1))) return true;
  return isTooLarge(x.cause, depth + 1);
}

/** The last timestamp handed out, in nanoseconds: every line gets a later one than the line before. */
let lastReadNs = 0n;
let prefixSecond = -1n;
let secondPrefix = '';

/**
 * Now as RFC 3339 with nanoseconds, strictly increasing from line to line. Loki (and our store)
 * keeps one of several entries with the same stream, timestamp and line, so identical lines read
 * in one chunk must not share a timestamp; a re-push of the same Kafka record keeps its timestamp
 * and is still deduplicated. The seconds part is formatted once per second (formatting whole
 * timestamps per line was a noticeable part of the shipper's CPU).
 */
function readAt(): string {
  const now = BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000)) * 1000n;
  lastReadNs = now > lastReadNs ? now : lastReadNs + 1n;
  const second = lastReadNs / 1_000_000_000n;
  if (second !== prefixSecond) {
    prefixSecond = second;
    secondPrefix = new Date(Number(second) * 1000).toISOString().slice(0, 19);
  }
  return `${secondPrefix}.${(lastReadNs % 1_000_000_000n).toString().padStart(9, '0')}Z`;
}

export class LogShipper {
  readonly opts: LogShipperOptions;
  private readonly publisher: LogPublisher;
  private readonly log: Logger;
  private readonly tails = new Map<string, { tail: FileTail; docker: DockerJoiner | undefined }>();
  private checkpointEntries = new Map<string, CheckpointEntry>();
  private lastCheckpointText = '';
  private ready: Ready[] = [];
  private readyHead = 0;
  private seq = 0;
  private outstandingBytes = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryDelayMs = 0;
  /** After a "too large" answer, events up to this sequence go one per call, to find and drop the culprit. */
  private soloUntilSeq = -1;
  private readonly pausedStreams = new Set<Readable>();
  private readonly idleWaiters: (() => void)[] = [];
  private wakeLoop: (() => void) | undefined;
  private loopDone: Promise<void> | undefined;
  private timers: NodeJS.Timeout[] = [];
  private started = false;
  private stopping = false;
  private checkpointWriting: Promise<void> | undefined;
  private checkpointAgain = false;
  private checkpointTimer: NodeJS.Timeout | undefined;
  readonly stats: ShipperStats = {
    linesRead: 0,
    linesShipped: 0,
    linesTruncated: 0,
    bytesRead: 0,
    dropped: {},
    publishFailures: 0,
    bufferedLines: 0,
    bufferedBytes: 0,
  };

  constructor(opts: Partial<LogShipperOptions> & ({ kafka: KafkaEndpoint } | { publisher: LogPublisher })) {
    this.opts = { ...logShipperDefaults, ...opts };
    const o = this.opts;
    for (const k of [
      'lineBytesMax',
      'readChunkBytes',
      'bufferedLinesMax',
      'bufferedBytesMax',
      'recordBytesMax',
      'produceBytesMax',
    ] as const) {
      if (!Number.isSafeInteger(o[k]) || o[k] < 1) throw new Error(`${k} must be a positive integer, not ${o[k]}`);
    }
    this.log = o.logger;
    this.publisher =
      o.publisher ??
      new Publisher(o.kafka!, {
        compression: o.compression,
        lingerMs: 2,
        batchEventsMax: o.batchEventsMax,
        pendingEventsMax: Math.max(o.bufferedLinesMax, o.batchEventsMax) * 2,
      });
  }

  /** Loads the checkpoint and starts the file loop and timers. Throws if the checkpoint is unreadable. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    if (this.opts.checkpointPath !== undefined) this.checkpointEntries = await loadCheckpoint(this.opts.checkpointPath);
    this.loopDone = this.fileLoop();
    if (this.opts.checkpointPath !== undefined) {
      this.timers.push(setInterval(() => void this.saveCheckpoint(), this.opts.checkpointIntervalMs));
    }
    this.timers.push(setInterval(() => this.log.debug({ stats: this.snapshot() }, 'ship-logs counters'), this.opts.statsIntervalMs));
    for (const t of this.timers) t.unref();
  }

  /** Follows `path` (it may not exist yet). After start(), which loads the checkpoint. */
  addFile(path: string, o: FileSourceOptions = {}): void {
    if (!this.started) throw new Error('LogShipper.addFile before start(): the checkpoint is not loaded yet');
    if (this.tails.has(path)) return;
    const cp = this.checkpointEntries.get(path);
    const tail = new FileTail(path, {
      lineBytesMax: this.opts.lineBytesMax,
      readChunkBytes: this.opts.readChunkBytes,
      start: this.opts.start,
      ...(cp ? { checkpoint: cp } : {}),
      logger: this.log,
    });
    const docker = o.docker ?? looksLikeDockerLog(path);
    this.tails.set(path, { tail, docker: docker ? new DockerJoiner(this.opts.lineBytesMax) : undefined });
    this.wakeLoop?.();
  }

  /**
   * Ships the lines of `stream` keyed by `source`; resolves when the stream ended and all its
   * lines were acknowledged (or dropped).
   */
  addStream(stream: Readable, source: string, o: StreamSourceOptions = {}): Promise<void> {
    const splitter = new LineSplitter(this.opts.lineBytesMax);
    const sourceType = o.sourceType ?? 'stdin';
    const whenFull = o.whenFull ?? 'pause';
    let unacked = 0;
    let ended = false;
    return new Promise<void>((resolve) => {
      const settle = (): void => {
        if (ended && unacked === 0) resolve();
      };
      const done = (): void => {
        unacked--;
        settle();
      };
      const take = (line: Line): void => {
        this.stats.linesRead++;
        if (line.text === '') return;
        if (whenFull === 'drop' && !this.hasRoom()) {
          this.drop('buffer_full');
          return;
        }
        unacked++;
        this.enqueue(source, line, { sourceType, host: this.opts.host, readAt: readAt() }, o.fields, done);
      };
      stream.on('data', (chunk: Buffer | string) => {
        const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
        this.stats.bytesRead += buf.length;
        for (const line of splitter.push(buf)) take(line);
        if (whenFull === 'pause' && !this.hasRoom()) {
          stream.pause();
          this.pausedStreams.add(stream);
        }
      });
      const end = (): void => {
        if (ended) return;
        const rest = splitter.finish();
        if (rest) take(rest);
        ended = true;
        this.pausedStreams.delete(stream);
        settle();
      };
      stream.once('end', end);
      stream.once('error', (e) => {
        this.log.warn({ source, err: e.message }, 'stream failed; shipping what was read');
        end();
      });
    });
  }

  /**
   * One line from this process (its own logs): never waits; false when dropped because the buffer
   * is full. `fields` are set over what the line itself says (e.g. the service it came from).
   */
  shipLine(source: string, line: string, fields?: Record<string, unknown>, sourceType: LogSourceType = 'internal'): boolean {
    this.stats.linesRead++;
    let text = line.endsWith('\n') ? line.slice(0, -1) : line;
    if (text === '') return true;
    if (!this.hasRoom()) {
      this.drop('buffer_full');
      return false;
    }
    let truncated = false;
    let bytes = Buffer.byteLength(text);
    if (bytes > this.opts.lineBytesMax) {
      text = Buffer.from(text).toString('utf8', 0, this.opts.lineBytesMax);
      truncated = true;
    }
    this.stats.bytesRead += bytes;
    bytes = Math.min(bytes, this.opts.lineBytesMax);
    this.enqueue(
      source,
      { text, truncated, bytes, endPosition: 0 },
      { sourceType, host: this.opts.host, readAt: readAt() },
      fields,
      () => {},
    );
    return true;
  }

  snapshot(): ShipperStats {
    return { ...this.stats, dropped: { ...this.stats.dropped } };
  }

  /** Resolves when every line read so far was acknowledged (or dropped). */
  drain(): Promise<void> {
    if (this.stats.bufferedLines === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops reading, waits up to closeTimeoutMs for acknowledgements, saves the checkpoint. */
  async close(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.wakeLoop?.();
    await this.loopDone;
    for (const t of this.timers) clearInterval(t);
    clearTimeout(this.checkpointTimer);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), this.opts.closeTimeoutMs);
    });
    const left = await Promise.race([this.drain().then(() => false), timedOut]);
    clearTimeout(timer);
    if (left) this.log.warn({ bufferedLines: this.stats.bufferedLines }, 'closing with lines not acknowledged; a restart ships them again');
    await this.checkpointWriting;
    await this.saveCheckpoint();
    clearTimeout(this.retryTimer);
    for (const { tail } of this.tails.values()) await tail.close();
    const closing = this.publisher.close().catch((e) => this.log.warn({ err: (e as Error).message }, 'closing the producer failed'));
    // With lines still unacknowledged the producer may take its retries to give up; do not wait for that.
    if (!left) await closing;
  }

  /** Lines that may be read now (files stop exactly at bufferedLinesMax; bytes may pass their bound by one chunk). */
  private roomLines(): number {
    if (this.stopping || this.stats.bufferedBytes >= this.opts.bufferedBytesMax) return 0;
    return this.opts.bufferedLinesMax - this.stats.bufferedLines;
  }

  private hasRoom(): boolean {
    return this.stats.bufferedLines < this.opts.bufferedLinesMax && this.stats.bufferedBytes < this.opts.bufferedBytesMax;
  }

  private drop(reason: string): void {
    const first = this.stats.dropped[reason] === undefined;
    this.stats.dropped[reason] = (this.stats.dropped[reason] ?? 0) + 1;
    // The first of a kind at warn, the rest in the periodic counters, so a flood does not flood the log.
    if (first) this.log.warn({ reason }, 'dropped a line (further drops are counted in the ship-logs counters)');
  }

  /** Parses, encodes and queues one line; `done` runs once it is acknowledged or dropped. */
  private enqueue(
    key: string,
    line: Line,
    ctx: LineContext,
    fields: Record<string, unknown> | undefined,
    done: () => void,
    docker?: DockerRecord,
  ): void {
    let event: LogEvent = toLogEvent(line, ctx, docker);
    if (fields) event = Object.assign(event, fields);
    const encoded = encodeLogEvent(event, this.opts.recordBytesMax);
    if (!encoded) {
      this.drop('record_too_large');
      done();
      return;
    }
    if (event.truncated === true || encoded.shortened) this.stats.linesTruncated++;
    const bytes = encoded.bytes + Buffer.byteLength(key) + recordOverheadBytes;
    this.stats.bufferedLines++;
    this.stats.bufferedBytes += bytes;
    this.ready.push({ seq: this.seq++, key, value: encoded.value, bytes, done });
    this.pump();
  }

  private emitFileLine(path: string, joiner: DockerJoiner | undefined, gen: Generation, line: Line): void {
    this.stats.linesRead++;
    if (line.text === '' && !line.truncated) {
      gen.tracker.advance(line.endPosition);
      return;
    }
    let rec: DockerRecord | undefined;
    if (joiner && !line.truncated) {
      const parsed = parseDockerLine(line.text);
      // A part of a split line gets no tracker entry: the entry of the record that completes it covers its bytes.
      if (parsed) {
        rec = joiner.push(parsed);
        if (rec === undefined) return;
      }
    }
    const token = gen.tracker.add(line.endPosition);
    const ctx: LineContext = {
      sourceType: joiner ? 'docker_logs' : 'file',
      host: this.opts.host,
      file: path,
      readAt: readAt(),
      docker: joiner !== undefined,
    };
    this.enqueue(
      path,
      line,
      ctx,
      undefined,
      () => {
        if (gen.tracker.ack(token)) this.checkpointSoon();
      },
      rec,
    );
  }

  /** Hands queued events to the Publisher while produceBytesMax allows. */
  private pump(): void {
    if (this.retryTimer !== undefined) return;
    while (this.readyHead < this.ready.length) {
      const room = this.opts.produceBytesMax - this.outstandingBytes;
      const batch: Ready[] = [];
      let bytes = 0;
      const batchMax = this.ready[this.readyHead]!.seq <= this.soloUntilSeq ? 1 : this.opts.batchEventsMax;
      while (this.readyHead < this.ready.length && batch.length < batchMax) {
        const r = this.ready[this.readyHead]!;
        if (bytes + r.bytes > room && !(batch.length === 0 && this.outstandingBytes === 0)) break;
        batch.push(r);
        bytes += r.bytes;
        this.readyHead++;
      }
      if (batch.length === 0) break;
      if (this.readyHead > 4096 && this.readyHead * 2 > this.ready.length) {
        this.ready = this.ready.slice(this.readyHead);
        this.readyHead = 0;
      }
      this.outstandingBytes += bytes;
      const events: EncodedEvent[] = batch.map((r) => ({ key: r.key, value: r.value, headers: EMPTY_HEADERS }));
      this.publisher.publish(this.opts.topic, events).then(
        () => this.acked(batch, bytes),
        (e: unknown) => this.failed(batch, bytes, e),
      );
    }
  }

  private acked(batch: Ready[], bytes: number): void {
    this.outstandingBytes -= bytes;
    this.retryDelayMs = 0;
    this.stats.linesShipped += batch.length;
    this.release(batch);
    this.pump();
  }

  private release(batch: Ready[]): void {
    for (const r of batch) {
      this.stats.bufferedLines--;
      this.stats.bufferedBytes -= r.bytes;
      r.done();
    }
    this.afterRelease();
  }

  private failed(batch: Ready[], bytes: number, e: unknown): void {
    this.outstandingBytes -= bytes;
    this.stats.publishFailures++;
    if (isTooLarge(e)) {
      // Retrying cannot help: the one event too large for this topic is dropped (counted), the rest go alone until past it.
      if (batch.length === 1) {
        this.drop('rejected_too_large');
        this.release(batch);
      } else {
        this.soloUntilSeq = Math.max(this.soloUntilSeq, batch[batch.length - 1]!.seq);
        this.ready = [...batch, ...this.ready.slice(this.readyHead)].sort((a, b) => a.seq - b.seq);
        this.readyHead = 0;
      }
      this.pump();
      return;
    }
    if (this.retryDelayMs === 0)
      this.log.warn({ err: (e as Error)?.message ?? String(e), lines: batch.length }, 'producing failed; retrying');
    // Back in line by sequence, ahead of what was read after them.
    this.ready = [...batch, ...this.ready.slice(this.readyHead)].sort((a, b) => a.seq - b.seq);
    this.readyHead = 0;
    if (this.stopping && this.retryDelayMs >= this.opts.retryDelayMsMax) return; // close() gives up at its timeout
    this.retryDelayMs = Math.min(this.opts.retryDelayMsMax, Math.max(100, this.retryDelayMs * 2));
    if (this.retryTimer === undefined) {
      this.retryTimer = setTimeout(() => {
        this.retryTimer = undefined;
        this.pump();
      }, this.retryDelayMs);
    }
  }

  /** Room may have opened: resume paused streams, wake the file loop, settle drain(). */
  private afterRelease(): void {
    if (this.hasRoom()) {
      for (const s of this.pausedStreams) s.resume();
      this.pausedStreams.clear();
      this.wakeLoop?.();
    }
    if (this.stats.bufferedLines === 0) for (const w of this.idleWaiters.splice(0)) w();
  }

  private async fileLoop(): Promise<void> {
    while (!this.stopping) {
      let more = false;
      for (const [path, { tail, docker }] of this.tails) {
        const before = tail.bytesRead;
        try {
          if (
            await tail.poll(
              () => this.roomLines(),
              (gen, line) => this.emitFileLine(path, docker, gen, line),
            )
          )
            more = true;
        } catch (e) {
          this.log.warn({ path, err: (e as Error).message }, 'reading the file failed; will try again');
        }
        this.stats.bytesRead += tail.bytesRead - before;
      }
      if (this.stopping) break;
      if (more && this.hasRoom()) {
        await new Promise((r) => setImmediate(r));
        continue;
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          this.wakeLoop = undefined;
          resolve();
        }, this.opts.pollIntervalMs);
        this.wakeLoop = () => {
          clearTimeout(timer);
          this.wakeLoop = undefined;
          resolve();
        };
      });
    }
  }

  /**
   * A position moved with an acknowledgement: save within checkpointDelayMs, so that what a crash
   * repeats is the unacknowledged lines plus those acknowledged during one write.
   */
  private checkpointSoon(): void {
    if (this.opts.checkpointPath === undefined || this.checkpointTimer !== undefined) return;
    this.checkpointTimer = setTimeout(() => {
      this.checkpointTimer = undefined;
      void this.saveCheckpoint();
    }, this.opts.checkpointDelayMs);
  }

  /** Writes the checkpoint if it changed; one write at a time (a request meanwhile writes again after it). */
  private async saveCheckpoint(): Promise<void> {
    const path = this.opts.checkpointPath;
    if (path === undefined) return;
    if (this.checkpointWriting) {
      this.checkpointAgain = true;
      return this.checkpointWriting;
    }
    for (const [p, { tail }] of this.tails) {
      const e = tail.checkpointEntry();
      if (e) this.checkpointEntries.set(p, e);
    }
    const text = serializeCheckpoint(this.checkpointEntries.values());
    if (text === this.lastCheckpointText) return;
    this.checkpointWriting = writeCheckpoint(path, this.checkpointEntries.values())
      .then(() => {
        this.lastCheckpointText = text;
      })
      .catch((e: unknown) => this.log.warn({ path, err: (e as Error).message }, 'writing the checkpoint failed; will try again'))
      .finally(() => {
        this.checkpointWriting = undefined;
        if (this.checkpointAgain) {
          this.checkpointAgain = false;
          this.checkpointSoon();
        }
      });
    return this.checkpointWriting;
  }
}
