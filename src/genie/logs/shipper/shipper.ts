// LogShipper: the I/O shell around the pure parts (lines.ts, parse.ts, checkpoint.ts). It tails
// files (fileTail.ts), reads streams (stdin, a child's stdout) and takes single lines from the
// process itself (shipLine), turns them into LogEvents and produces them to `logs.dev` through
// LogProducer (leanProducer.ts: batched, compressed, acks=all, idempotent), keyed by source.
//
// Per line the work is kept small, since a busy file gives hundreds of thousands of lines a second:
// the key, its partition and the JSON of the source's constant fields are computed once per source,
// the common lines are encoded by encodeLineFast (no event object), each line's bytes are made once
// and handed to the client as they are, and the producer is fed once per chunk read, not per line.
//
// Bounds: at most bufferedLinesMax lines / bufferedBytesMax bytes are read and not yet
// acknowledged. At the bound files are not read (the files are the buffer), paused streams stop
// being read (pipe back-pressure reaches the writer), and shipLine drops and counts. The producer
// holds at most producePipelineBatches × produceBytesMax bytes and cuts batches at produceBytesMax,
// so no batch can exceed the broker's message.max.bytes however lines are batched. A failed produce is retried with backoff, forever:
// nothing is dropped because Kafka is away, and memory stays at the bounds meanwhile.

import type { Readable } from 'node:stream';
import type { Logger } from '../../../util/log.js';
import type { KafkaEndpoint } from '../../kafka.js';
import type { LogEvent, LogSourceType } from '../logEvent.js';
import {
  type AckToken,
  type AckTracker,
  type CheckpointEntry,
  loadCheckpoint,
  serializeCheckpoint,
  writeCheckpoint,
} from './checkpoint.js';
import { FileTail, type Generation } from './fileTail.js';
import { FileWatches } from './fileWatch.js';
import { type Line, LineSplitter } from './lines.js';
import {
  DockerJoiner,
  type DockerRecord,
  encodeLineFast,
  encodeLogEvent,
  type LineContext,
  looksLikeDockerLog,
  parseDockerLine,
  sourceJsonSuffix,
  toLogEvent,
} from './parse.js';
import { LogProducer } from './leanProducer.js';
import { isTooLarge, type LogPublisher, type LogRecord, partitionOf, readAt } from './producer.js';

export type { LogPublisher, LogRecord } from './producer.js';

import type { FileSourceOptions, LogShipperOptions, ShipperStats, StreamSourceOptions } from './options.js';
import { logShipperDefaults } from './options.js';

export {
  type FileSourceOptions,
  type LogShipperOptions,
  logShipperDefaults,
  type ShipperStats,
  type StreamSourceOptions,
} from './options.js';

/** A line encoded and not yet acknowledged; it is itself the record handed to the producer. */
interface Ready extends LogRecord {
  seq: number;
  bytes: number;
  /** A file line: the tracker and token to acknowledge it with (no closure per line). */
  tracker: AckTracker | undefined;
  token: AckToken | undefined;
  /** A stream line: called once it is acknowledged or dropped. */
  done: (() => void) | undefined;
}

/** What is the same for every line of one source: its record key, partition and JSON suffix. */
interface Source {
  key: Buffer;
  partition: number;
  ctx: LineContext;
  suffix: string;
}
/** A record's bytes beyond its key and value in a record batch (length, attributes, deltas, counts). */
const recordOverheadBytes = 24;

export class LogShipper {
  readonly opts: LogShipperOptions;
  private readonly publisher: LogPublisher;
  private readonly log: Logger;
  private readonly tails = new Map<string, { tail: FileTail; docker: DockerJoiner | undefined; source: Source }>();
  /** Sources of streams and of shipLine, by key and source type (bounded by the callers: a few names). */
  private readonly sources = new Map<string, Source>();
  private checkpointEntries = new Map<string, CheckpointEntry>();
  private lastCheckpointText = '';
  private ready: Ready[] = [];
  private readyHead = 0;
  private seq = 0;
  private outstandingBytes = 0;
  private pumpQueued = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryDelayMs = 0;
  /** After a "too large" answer, events up to this sequence go one per call, to find and drop the culprit. */
  private soloUntilSeq = -1;
  private readonly pausedStreams = new Set<Readable>();
  private readonly idleWaiters: (() => void)[] = [];
  private wakeLoop: (() => void) | undefined;
  /** Directory watches that wake the file loop (undefined: poll only). */
  private watches: FileWatches | undefined;
  /** A watched file changed since the loop's pass began: pass again before sleeping. */
  private wakePending = false;
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
      'producePipelineBatches',
    ] as const) {
      if (!Number.isSafeInteger(o[k]) || o[k] < 1) throw new Error(`${k} must be a positive integer, not ${o[k]}`);
    }
    for (const k of ['watchCoalesceMs', 'rotationGraceMs'] as const) {
      if (!(o[k] >= 0)) throw new Error(`${k} must be >= 0, not ${o[k]}`);
    }
    this.log = o.logger;
    this.publisher = o.publisher ?? new LogProducer(o.kafka!, { compression: o.compression, batchBytesMax: o.produceBytesMax });
  }

  /** Loads the checkpoint and starts the file loop and timers. Throws if the checkpoint is unreadable. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    if (this.opts.checkpointPath !== undefined) this.checkpointEntries = await loadCheckpoint(this.opts.checkpointPath);
    if (this.opts.watchFiles) this.watches = new FileWatches(() => this.onFileChange(), this.log, this.opts.watchCoalesceMs);
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
      // As before watching: a renamed file is read for one more poll interval (at most rotationGraceMs).
      rotationGraceMs: Math.min(this.opts.pollIntervalMs, this.opts.rotationGraceMs),
      logger: this.log,
    });
    const docker = o.docker ?? looksLikeDockerLog(path);
    const ctx: LineContext = {
      sourceType: docker ? 'docker_logs' : 'file',
      host: this.opts.host,
      file: path,
      readAt: '',
      docker,
    };
    this.tails.set(path, {
      tail,
      docker: docker ? new DockerJoiner(this.opts.lineBytesMax) : undefined,
      source: this.makeSource(path, ctx),
    });
    this.watches?.add(path);
    this.wakeLoop?.();
  }

  /**
   * Ships the lines of `stream` keyed by `source`; resolves when the stream ended and all its
   * lines were acknowledged (or dropped).
   */
  addStream(stream: Readable, source: string, o: StreamSourceOptions = {}): Promise<void> {
    const splitter = new LineSplitter(this.opts.lineBytesMax);
    const sourceType = o.sourceType ?? 'stdin';
    const src = this.streamSource(source, sourceType);
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
        this.enqueue(src, line, o.fields, undefined, undefined, done);
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
      this.streamSource(source, sourceType),
      { text, truncated, bytes, endPosition: 0 },
      fields,
      undefined,
      undefined,
      undefined,
    );
    // A line from this process is handed on at once (files and streams hand on once per chunk).
    this.pump();
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
    this.watches?.close();
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

  private makeSource(key: string, ctx: LineContext): Source {
    const keyBytes = Buffer.from(key);
    return { key: keyBytes, partition: partitionOf(keyBytes), ctx, suffix: sourceJsonSuffix(ctx) };
  }

  private streamSource(key: string, sourceType: LogSourceType): Source {
    const id = `${sourceType}\u0000${key}`;
    let src = this.sources.get(id);
    if (src === undefined) {
      src = this.makeSource(key, { sourceType, host: this.opts.host, readAt: '' });
      this.sources.set(id, src);
    }
    return src;
  }

  /**
   * Encodes and queues one line; once it is acknowledged or dropped, `tracker` acknowledges
   * `token` (file lines) or `done` runs (stream lines).
   */
  private enqueue(
    src: Source,
    line: Line,
    fields: Record<string, unknown> | undefined,
    tracker: AckTracker | undefined,
    token: AckToken | undefined,
    done: (() => void) | undefined,
    docker?: DockerRecord,
  ): void {
    const at = readAt();
    let value: string | undefined;
    let valueBytes = 0;
    let truncated = line.truncated;
    if (!line.truncated && !src.ctx.docker && fields === undefined) {
      value = encodeLineFast(line.text, at, src.suffix);
      if (value !== undefined) {
        valueBytes = Buffer.byteLength(value);
        if (valueBytes > this.opts.recordBytesMax) value = undefined; // the general path shortens it
      }
    }
    if (value === undefined) {
      let event: LogEvent = toLogEvent(line, { ...src.ctx, readAt: at }, docker);
      if (fields) event = Object.assign(event, fields);
      const encoded = encodeLogEvent(event, this.opts.recordBytesMax);
      if (!encoded) {
        this.drop('record_too_large');
        if (token !== undefined && tracker!.ack(token)) this.checkpointSoon();
        done?.();
        return;
      }
      truncated = event.truncated === true || encoded.shortened;
      value = encoded.value;
      valueBytes = encoded.bytes;
    }
    if (truncated) this.stats.linesTruncated++;
    const bytes = valueBytes + src.key.length + recordOverheadBytes;
    this.stats.bufferedLines++;
    this.stats.bufferedBytes += bytes;
    this.ready.push({
      topic: this.opts.topic,
      key: src.key,
      value,
      valueBytes,
      partition: src.partition,
      seq: this.seq++,
      bytes,
      tracker,
      token,
      done,
    });
    if (!this.pumpQueued) {
      // Once per chunk read (or burst of shipLine calls), not per line.
      this.pumpQueued = true;
      queueMicrotask(() => {
        this.pumpQueued = false;
        this.pump();
      });
    }
  }

  private emitFileLine(src: Source, joiner: DockerJoiner | undefined, gen: Generation, line: Line): void {
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
    this.enqueue(src, line, undefined, gen.tracker, gen.tracker.add(line.endPosition), undefined, rec);
  }

  /** Hands queued events to the producer while produceBytesMax × producePipelineBatches allows. */
  private pump(): void {
    if (this.retryTimer !== undefined) return;
    while (this.readyHead < this.ready.length) {
      const room = this.opts.produceBytesMax * this.opts.producePipelineBatches - this.outstandingBytes;
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
      this.publisher.publish(batch).then(
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
    let moved = false;
    for (const r of batch) {
      this.stats.bufferedLines--;
      this.stats.bufferedBytes -= r.bytes;
      if (r.token !== undefined) {
        if (r.tracker!.ack(r.token)) moved = true;
      } else r.done?.();
    }
    if (moved) this.checkpointSoon();
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

  /** Watched files changed (the events of watchCoalesceMs gathered): one more pass of the loop. */
  private onFileChange(): void {
    this.wakePending = true;
    this.wakeLoop?.();
  }

  private async fileLoop(): Promise<void> {
    while (!this.stopping) {
      this.wakePending = false;
      let more = false;
      let wakeAtMs = Number.POSITIVE_INFINITY;
      for (const { tail, docker, source } of this.tails.values()) {
        const before = tail.bytesRead;
        try {
          if (
            await tail.poll(
              () => this.roomLines(),
              (gen, line) => this.emitFileLine(source, docker, gen, line),
            )
          )
            more = true;
        } catch (e) {
          this.log.warn({ path: tail.path, err: (e as Error).message }, 'reading the file failed; will try again');
        }
        this.stats.bytesRead += tail.bytesRead - before;
        wakeAtMs = Math.min(wakeAtMs, tail.wakeAtMs ?? wakeAtMs);
      }
      if (this.stopping) break;
      if ((more || this.wakePending) && this.hasRoom()) {
        await new Promise((r) => setImmediate(r));
        continue;
      }
      const sleepMs = Math.max(0, Math.min(this.opts.pollIntervalMs, wakeAtMs - Date.now()));
      const polled = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => {
          this.wakeLoop = undefined;
          resolve(true);
        }, sleepMs);
        this.wakeLoop = () => {
          clearTimeout(timer);
          this.wakeLoop = undefined;
          resolve(false);
        };
      });
      // Directories that could not be watched (not there yet, or the watch ended) are tried again at the poll.
      if (polled) this.watches?.retry();
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
