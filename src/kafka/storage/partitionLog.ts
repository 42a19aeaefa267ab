// One partition's log directory (`<logDir>/<topic>-<partition>/`): ordered segments, log start/end
// offsets, recovery at open, appends (leader and follower), reads, truncation, retention, following
// Kafka's UnifiedLog/LocalLog/LogLoader. Everything is synchronous on the caller's turn except the
// fsync of a just-rolled segment, which runs on the libuv pool and then advances the recovery point.

import * as fs from 'node:fs';
import * as path from 'node:path';
// One CRC-32C for the project: records.ts picks JS or native by input size (measured there).
import { crc32c } from '../protocol/records.js';
import { ATTR_TIMESTAMP_LOG_APPEND, BATCH, BATCH_HEADER_BYTES, LOG_OVERHEAD, readInt64, writeInt64 } from '../protocol/batchHeader.js';
import { fsyncDir, LEADER_EPOCH_CHECKPOINT, readPartitionMetadata, writePartitionMetadata } from './checkpoint.js';
import { CLEANED_SUFFIX, completeInterruptedSwaps, SWAP_SUFFIX } from './cleanerSwap.js';
import { LeaderEpochCache } from './leaderEpochCache.js';
import type { LogConfig } from './logConfig.js';
import { LONG_MAX } from './logConfig.js';
import { DELETED_SUFFIX, INDEX_SUFFIX, LOG_SUFFIX, LogSegment, TIME_INDEX_SUFFIX, TXN_INDEX_SUFFIX } from './segment.js';

export class OffsetOutOfRangeError extends Error {
  override name = 'OffsetOutOfRangeError';
}

export class RecordTooLargeError extends Error {
  override name = 'RecordTooLargeError';
}

/** Bytes one read may return (Fetch's partition max bytes is clamped to this). */
export const readBytesMax = 64 * 1024 * 1024;
/** Retired segment file groups awaiting file.delete.delay.ms; beyond this they are removed at once. */
export const pendingDeletesMax = 1024;

export interface StorageLogger {
  warn(o: object, m?: string): void;
  info(o: object, m?: string): void;
}

export interface PartitionLogOptions {
  dir: string;
  topic: string;
  partition: number;
  topicId?: string;
  config: LogConfig;
  recoveryPoint?: number;
  logStartOffset?: number;
  cleanShutdown?: boolean;
  now: () => number;
  logger?: StorageLogger;
}

export interface AppendResult {
  firstOffset: number;
  lastOffset: number;
  maxTimestamp: number;
  offsetOfMaxTimestamp: number;
}

interface BatchSummary {
  count: number;
  firstOffset: number;
  lastOffset: number;
  maxTimestamp: number;
  offsetOfMaxTimestamp: number;
}

const SEGMENT_FILE = /^(\d{20})\.(log|index|timeindex|txnindex|snapshot)$/;

export class PartitionLog {
  readonly topic: string;
  readonly partition: number;
  readonly dir: string;
  topicId: string | undefined;
  config: LogConfig;
  readonly epochs: LeaderEpochCache;
  private segments: LogSegment[] = [];
  private _logStartOffset = 0;
  private _recoveryPoint = 0;
  private _highWatermark = 0;
  private readonly now: () => number;
  private readonly logger: StorageLogger | undefined;
  private pendingDeletes: { files: string[]; dueMs: number }[] = [];
  private lastFlushMs: number;
  /** Bumped by every truncation so an in-flight background flush does not move the recovery point. */
  private generation = 0;
  private flushChain: Promise<void> = Promise.resolve();
  private closed = false;

  private constructor(o: PartitionLogOptions) {
    this.topic = o.topic;
    this.partition = o.partition;
    this.dir = o.dir;
    this.config = o.config;
    this.now = o.now;
    this.logger = o.logger;
    this.lastFlushMs = o.now();
    fs.mkdirSync(o.dir, { recursive: true });
    const storedId = readPartitionMetadata(o.dir);
    if (o.topicId !== undefined && storedId !== undefined && storedId !== o.topicId) {
      throw new Error(`${o.dir}: topic id ${storedId} on disk differs from ${o.topicId}`);
    }
    if (o.topicId !== undefined && storedId === undefined) writePartitionMetadata(o.dir, o.topicId);
    this.topicId = o.topicId ?? storedId;
    this.epochs = new LeaderEpochCache(path.join(o.dir, LEADER_EPOCH_CHECKPOINT));
  }

  static open(o: PartitionLogOptions): PartitionLog {
    const log = new PartitionLog(o);
    log.load(o);
    return log;
  }

  private segOpts() {
    return { indexIntervalBytes: this.config.indexIntervalBytes, segmentIndexBytes: this.config.segmentIndexBytes, now: this.now() };
  }

  private load(o: PartitionLogOptions): void {
    const bases: number[] = [];
    const others = new Map<number, string[]>();
    // A committed compaction swap is finished, an uncommitted one dropped, before the segments are listed.
    for (const base of completeInterruptedSwaps(this.dir)) {
      this.logger?.warn({ topic: this.topic, partition: this.partition, segment: base }, 'completed an interrupted segment swap');
    }
    for (const name of fs.readdirSync(this.dir)) {
      const full = path.join(this.dir, name);
      // Leftovers of interrupted deletes or checkpoint writes: Kafka removes them at load too.
      if (name.endsWith(DELETED_SUFFIX) || name.endsWith('.tmp')) {
        fs.rmSync(full, { force: true });
        continue;
      }
      const m = SEGMENT_FILE.exec(name);
      if (!m) continue;
      const base = Number(m[1]);
      if (m[2] === 'log') bases.push(base);
      else others.set(base, [...(others.get(base) ?? []), full]);
    }
    for (const [base, files] of others) {
      if (!bases.includes(base)) for (const f of files) if (!f.endsWith('.snapshot')) fs.rmSync(f, { force: true });
    }
    bases.sort((a, b) => a - b);
    for (const base of bases) this.segments.push(LogSegment.open(this.dir, base, this.segOpts()));

    // Segments whose index was missing or failed its sanity check are rebuilt whatever the recovery point.
    for (const s of this.segments) {
      if (s.needsRecovery) this.recoverSegment(s, 'index missing or corrupt');
    }
    const recoveryPoint = o.recoveryPoint ?? 0;
    if (!o.cleanShutdown && this.segments.length > 0) {
      let from = 0;
      for (let i = 0; i < this.segments.length; i++) if (this.segments[i].baseOffset <= recoveryPoint) from = i;
      for (let i = from; i < this.segments.length; i++) {
        const s = this.segments[i];
        if (s.needsRecovery) continue; // already rebuilt above
        const cut = this.recoverSegment(s, 'unclean shutdown');
        if (cut > 0) {
          // Everything after a torn or corrupt batch is unreliable: drop the later segments.
          for (const later of this.segments.splice(i + 1)) this.removeNow(later);
          break;
        }
      }
    }
    if (this.segments.length === 0) {
      this.segments.push(LogSegment.create(this.dir, o.logStartOffset ?? 0, this.segOpts()));
    }
    this._logStartOffset = Math.max(o.logStartOffset ?? 0, this.segments[0].baseOffset);
    if (this._logStartOffset > this.logEndOffset) {
      this.truncateFullyAndStartAt(this._logStartOffset);
    }
    this.active.resizeIndexes(this.config.segmentIndexBytes);
    this._recoveryPoint = o.cleanShutdown ? this.logEndOffset : Math.min(recoveryPoint, this.logEndOffset);
    this.epochs.truncateFromEnd(this.logEndOffset);
    this.epochs.truncateFromStart(this._logStartOffset);
    this._highWatermark = this._logStartOffset;
  }

  private recoverSegment(s: LogSegment, why: string): number {
    const cut = s.recover(this.config.segmentIndexBytes, this.epochs);
    if (cut > 0) {
      this.logger?.warn(
        { topic: this.topic, partition: this.partition, segment: s.baseOffset, bytes: cut, why },
        'truncated invalid bytes at the end of a segment',
      );
    }
    return cut;
  }

  private get active(): LogSegment {
    return this.segments[this.segments.length - 1];
  }

  get logStartOffset(): number {
    return this._logStartOffset;
  }

  get logEndOffset(): number {
    return this.active.nextOffset;
  }

  get recoveryPoint(): number {
    return this._recoveryPoint;
  }

  get size(): number {
    let n = 0;
    for (const s of this.segments) n += s.size;
    return n;
  }

  get highWatermark(): number {
    return this._highWatermark;
  }

  set highWatermark(v: number) {
    this._highWatermark = Math.min(Math.max(v, this._logStartOffset), this.logEndOffset);
  }

  /** Base offsets of the segments, oldest first (for tools and tests). */
  segmentBaseOffsets(): number[] {
    return this.segments.map((s) => s.baseOffset);
  }

  /** The segments, oldest first, the last one active (the cleaner reads the inactive ones). */
  get segmentList(): readonly LogSegment[] {
    return this.segments;
  }

  /**
   * Swaps a cleaned segment (files suffixed .cleaned, flushed) in for `old`, consecutive inactive
   * segments still in the log. Renaming the cleaned .log to .swap commits the swap; the old segments
   * are then retired and the swap renamed live. A crash in between is finished at load (cleanerSwap.ts).
   */
  replaceSegments(old: readonly LogSegment[], cleaned: LogSegment): void {
    this.ensureOpen();
    const i = this.segments.indexOf(old[0]!);
    if (i < 0 || i + old.length >= this.segments.length || old.some((s, k) => this.segments[i + k] !== s)) {
      throw new Error(`segments of ${this.topic}-${this.partition} changed while they were being cleaned`);
    }
    cleaned.changeFileSuffix(CLEANED_SUFFIX, SWAP_SUFFIX);
    fsyncDir(this.dir);
    const now = this.now();
    this.segments.splice(i, old.length, cleaned);
    for (const s of old) this.scheduleDelete(s, now);
    cleaned.changeFileSuffix(SWAP_SUFFIX, '');
    fsyncDir(this.dir);
  }

  updateConfig(c: LogConfig): void {
    const resize = c.segmentIndexBytes !== this.config.segmentIndexBytes;
    this.config = c;
    for (const s of this.segments) s.indexIntervalBytes = c.indexIntervalBytes;
    if (resize) this.active.resizeIndexes(c.segmentIndexBytes);
  }

  /**
   * Walks the batches of `records` checking the framing and max.message.bytes. With `assignFrom` the
   * offsets are those the batches will get (producers send base offset 0); otherwise the stored ones.
   */
  private summarize(records: Buffer, assignFrom?: number): BatchSummary {
    let p = 0;
    let count = 0;
    let prevLast = assignFrom !== undefined ? assignFrom - 1 : -1;
    const s: BatchSummary = { count: 0, firstOffset: -1, lastOffset: -1, maxTimestamp: -1, offsetOfMaxTimestamp: -1 };
    while (p < records.length) {
      if (records.length - p < BATCH_HEADER_BYTES) throw new Error('truncated record batch header');
      const size = LOG_OVERHEAD + records.readInt32BE(p + BATCH.batchLength);
      if (size < BATCH_HEADER_BYTES || p + size > records.length) throw new Error(`bad record batch length ${size}`);
      if (records.readInt8(p + BATCH.magic) !== 2) throw new Error('only record batch v2 (magic 2) is stored');
      if (size > this.config.maxMessageBytes) {
        throw new RecordTooLargeError(`batch of ${size} bytes is over max.message.bytes ${this.config.maxMessageBytes}`);
      }
      const base = assignFrom !== undefined ? prevLast + 1 : readInt64(records, p);
      const last = base + records.readInt32BE(p + BATCH.lastOffsetDelta);
      if (last < base || base <= prevLast) throw new Error(`batch offsets out of order at ${base}`);
      if (count === 0) s.firstOffset = base;
      const ts = readInt64(records, p + BATCH.maxTimestamp);
      if (ts > s.maxTimestamp || count === 0) {
        s.maxTimestamp = ts;
        s.offsetOfMaxTimestamp = last;
      }
      s.lastOffset = last;
      prevLast = last;
      count++;
      p += size;
    }
    if (count === 0) throw new Error('no record batches to append');
    s.count = count;
    return s;
  }

  /** Leader append: assigns offsets from the LEO in place (baseOffset, partitionLeaderEpoch), writes, rolls when needed. */
  append(records: Buffer, leaderEpoch: number): AppendResult {
    this.ensureOpen();
    const now = this.now();
    const s = this.summarize(records, this.logEndOffset);
    const logAppendTime = this.config.messageTimestampType === 'LogAppendTime';
    this.maybeRollFor(now, records.length, logAppendTime ? now : s.maxTimestamp, s.lastOffset, this.logEndOffset);
    let offset = this.logEndOffset;
    let p = 0;
    while (p < records.length) {
      const size = LOG_OVERHEAD + records.readInt32BE(p + BATCH.batchLength);
      writeInt64(records, p + BATCH.baseOffset, offset);
      records.writeInt32BE(leaderEpoch, p + BATCH.partitionLeaderEpoch);
      if (logAppendTime) {
        const b = records.subarray(p, p + size);
        b.writeInt16BE(b.readInt16BE(BATCH.attributes) | ATTR_TIMESTAMP_LOG_APPEND, BATCH.attributes);
        writeInt64(b, BATCH.maxTimestamp, now);
        b.writeUInt32BE(crc32c(b, BATCH.attributes), BATCH.crc);
      }
      offset += records.readInt32BE(p + BATCH.lastOffsetDelta) + 1;
      p += size;
    }
    const firstOffset = this.logEndOffset;
    if (leaderEpoch >= 0) this.epochs.assign(leaderEpoch, firstOffset);
    this.active.append(records);
    this.afterAppend();
    return {
      firstOffset,
      lastOffset: offset - 1,
      maxTimestamp: logAppendTime ? now : s.maxTimestamp,
      offsetOfMaxTimestamp: logAppendTime ? offset - 1 : s.offsetOfMaxTimestamp,
    };
  }

  /** Follower/recovery append: keeps the batches' offsets (the first must be >= LEO). */
  appendAsFollower(records: Buffer): { firstOffset: number; lastOffset: number } {
    this.ensureOpen();
    const s = this.summarize(records);
    if (s.firstOffset < this.logEndOffset) {
      throw new Error(`follower append at ${s.firstOffset} is below the log end offset ${this.logEndOffset}`);
    }
    this.maybeRollFor(this.now(), records.length, s.maxTimestamp, s.lastOffset, s.firstOffset);
    let p = 0;
    while (p < records.length) {
      const epoch = records.readInt32BE(p + BATCH.partitionLeaderEpoch);
      if (epoch >= 0) this.epochs.assign(epoch, readInt64(records, p));
      p += LOG_OVERHEAD + records.readInt32BE(p + BATCH.batchLength);
    }
    this.active.append(records);
    this.afterAppend();
    return { firstOffset: s.firstOffset, lastOffset: s.lastOffset };
  }

  private afterAppend(): void {
    if (this.config.flushMessages < LONG_MAX && this.logEndOffset - this._recoveryPoint >= this.config.flushMessages) {
      this.flush();
    }
  }

  private maybeRollFor(now: number, messagesSize: number, maxTimestamp: number, maxOffset: number, rollOffset: number): void {
    const c = this.config;
    if (
      this.active.shouldRoll({
        now,
        segmentBytes: c.segmentBytes,
        segmentMs: c.segmentMs,
        jitterMs: c.segmentJitterMs,
        messagesSize,
        maxTimestampInMessages: maxTimestamp,
        maxOffsetInMessages: maxOffset,
      })
    ) {
      this.roll(rollOffset);
    }
  }

  /** Rolls when segment.ms has passed for a non-empty active segment (Kafka checks this on append only). */
  maybeRoll(now: number): void {
    const c = this.config;
    if (
      this.active.size > 0 &&
      this.active.shouldRoll({
        now,
        segmentBytes: c.segmentBytes,
        segmentMs: c.segmentMs,
        jitterMs: c.segmentJitterMs,
        messagesSize: 0,
        maxTimestampInMessages: now,
        maxOffsetInMessages: this.logEndOffset,
      })
    ) {
      this.roll();
    }
  }

  /** Starts a new active segment at max(expectedNextOffset, LEO); an empty active segment is replaced, not kept. */
  roll(expectedNextOffset = 0): void {
    this.ensureOpen();
    const newOffset = Math.max(expectedNextOffset, this.logEndOffset);
    const old = this.active;
    if (old.size === 0) {
      if (old.baseOffset === newOffset) return;
      this.segments.pop();
      this.removeNow(old);
    } else {
      old.onBecomeInactive();
      this.flushInBackground(old, newOffset);
    }
    const seg = LogSegment.create(this.dir, newOffset, this.segOpts());
    this.segments.push(seg);
  }

  /** fsyncs a rolled segment off the event loop, then moves the recovery point past it (Kafka does the same). */
  private flushInBackground(seg: LogSegment, upTo: number): void {
    const gen = this.generation;
    const files = seg.files();
    this.flushChain = this.flushChain.then(async () => {
      try {
        for (const f of files) {
          const fh = await fs.promises.open(f, 'r');
          try {
            await fh.sync();
          } finally {
            await fh.close();
          }
        }
      } catch {
        return; // deleted or renamed meanwhile: nothing to advance
      }
      if (!this.closed && gen === this.generation) {
        seg.dirty = false;
        // Recovery starts past the recovery point: epochs of the data before it must be on disk.
        this.epochs.flush();
        if (upTo > this._recoveryPoint && this.segments[0].baseOffset <= upTo) {
          // Only segments at or before `upTo` are known durable; earlier ones were flushed by earlier links.
          const unflushedBefore = this.segments.some((s) => s.baseOffset < upTo && s.dirty);
          if (!unflushedBefore) this._recoveryPoint = Math.min(upTo, this.logEndOffset);
        }
      }
    });
  }

  /** Settles when background flushes queued so far have finished (for shutdown and tests). */
  whenFlushed(): Promise<void> {
    return this.flushChain;
  }

  /**
   * Whole batches from the one containing startOffset, up to maxBytes (the first batch always, if
   * minOneBatch), none holding an offset at or past maxOffset. Outside [logStartOffset, LEO] throws
   * OffsetOutOfRangeError. One readSync per segment touched.
   */
  read(startOffset: number, maxBytes: number, maxOffset: number, minOneBatch: boolean): { records: Buffer[]; bytes: number } {
    this.ensureOpen();
    if (startOffset < this._logStartOffset || startOffset > this.logEndOffset) {
      throw new OffsetOutOfRangeError(
        `offset ${startOffset} is outside [${this._logStartOffset}, ${this.logEndOffset}] of ${this.topic}-${this.partition}`,
      );
    }
    const records: Buffer[] = [];
    let bytes = 0;
    if (startOffset === this.logEndOffset) return { records, bytes };
    const budget = Math.min(Math.max(maxBytes, 0), readBytesMax);
    let i = this.floorSegment(startOffset);
    let offset = startOffset;
    for (; i < this.segments.length; i++) {
      const r = this.segments[i].read(offset, budget - bytes, maxOffset, minOneBatch && bytes === 0);
      if (r.data !== undefined) {
        records.push(r.data);
        bytes += r.data.length;
      }
      if (!r.toEnd || bytes >= budget || i + 1 >= this.segments.length) break;
      offset = this.segments[i + 1].baseOffset;
    }
    return { records, bytes };
  }

  /** Index of the last segment whose base offset is <= offset (0 if none). */
  private floorSegment(offset: number): number {
    let lo = 0;
    let hi = this.segments.length - 1;
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      if (this.segments[mid].baseOffset <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /**
   * The first batch whose maxTimestamp >= ts: its base offset (not below the log start offset) and that
   * max timestamp. Batch-level, like the indexes; the caller may decode the batch for the exact record.
   */
  offsetForTimestamp(ts: number): { offset: number; timestamp: number } | null {
    this.ensureOpen();
    for (const s of this.segments) {
      if (s.maxTimestampSoFar < ts) continue;
      const b = s.findByTimestamp(ts, this._logStartOffset);
      if (b !== undefined) return { offset: Math.max(b.baseOffset, this._logStartOffset), timestamp: b.maxTimestamp };
    }
    return null;
  }

  /** Largest batch max timestamp in the log and the last offset of that batch; (-1, -1) when none. */
  maxTimestampAndOffset(): { timestamp: number; offset: number } {
    let best = { timestamp: -1, offset: -1 };
    for (const s of this.segments) {
      if (s.maxTimestampSoFar > best.timestamp) best = { timestamp: s.maxTimestampSoFar, offset: s.offsetOfMaxTimestampSoFar };
    }
    return best;
  }

  /** Removes every batch holding an offset >= `offset`; the LEO lands on a batch boundary <= offset. */
  truncateTo(offset: number): void {
    this.ensureOpen();
    if (offset < 0) throw new Error(`cannot truncate to negative offset ${offset}`);
    if (offset >= this.logEndOffset) {
      // No data goes, but an epoch this broker started as leader without appending anything
      // (its start offset = our log end) must: it conflicts with the new leader's (as Kafka trims).
      this.epochs.truncateFromEnd(this.logEndOffset);
      return;
    }
    if (offset < this.segments[0].baseOffset) {
      this.truncateFullyAndStartAt(offset);
      return;
    }
    this.generation++;
    const now = this.now();
    while (this.segments.length > 1 && this.active.baseOffset > offset) this.scheduleDelete(this.segments.pop()!, now);
    this.active.truncateTo(offset, now);
    this.active.resizeIndexes(this.config.segmentIndexBytes);
    // The LEO may land below `offset` (whole batches go); epochs must not outlive the data.
    this.epochs.truncateFromEnd(this.logEndOffset);
    this._logStartOffset = Math.min(this._logStartOffset, this.logEndOffset);
    this._recoveryPoint = Math.min(this._recoveryPoint, this.logEndOffset);
    this.highWatermark = this._highWatermark;
  }

  /** Drops everything and restarts the log empty at `offset` (a follower far behind the leader's start). */
  truncateFullyAndStartAt(offset: number): void {
    this.ensureOpen();
    this.generation++;
    const now = this.now();
    for (const s of this.segments.splice(0)) this.scheduleDelete(s, now);
    this.segments.push(LogSegment.create(this.dir, offset, this.segOpts()));
    this.epochs.clear();
    this._logStartOffset = offset;
    this._recoveryPoint = offset;
    this._highWatermark = offset;
  }

  /** DeleteRecords: moves the log start offset up to `offset` (at most the high watermark); returns the new one. */
  deleteRecordsBefore(offset: number): number {
    this.ensureOpen();
    if (offset > this._highWatermark) {
      throw new OffsetOutOfRangeError(`cannot delete records before ${offset}: above the high watermark ${this._highWatermark}`);
    }
    if (offset > this._logStartOffset) {
      this._logStartOffset = offset;
      this.epochs.truncateFromStart(offset);
    }
    this.deleteOldSegments((_s, next) => next !== undefined && next.baseOffset <= this._logStartOffset);
    return this._logStartOffset;
  }

  /** Deletion by log start offset, retention.ms and retention.bytes; returns how many segments went. */
  enforceRetention(now: number): number {
    this.ensureOpen();
    let n = this.deleteOldSegments((_s, next) => next !== undefined && next.baseOffset <= this._logStartOffset);
    if (this.config.cleanupPolicy.includes('delete')) {
      const ms = this.config.retentionMs;
      if (ms >= 0) n += this.deleteOldSegments((s) => now - s.largestTimestamp() > ms);
      if (this.config.retentionBytes >= 0) {
        let excess = this.size - this.config.retentionBytes;
        n += this.deleteOldSegments((s) => {
          if (excess - s.size < 0) return false;
          excess -= s.size;
          return true;
        });
      }
    }
    // Compaction (cleanup.policy=compact) is not done here: LogManager's LogCleaner runs it in bounded slices.
    return n;
  }

  /** Kafka's deletableSegments + deleteSegments: oldest first, only below the high watermark. */
  private deleteOldSegments(predicate: (s: LogSegment, next: LogSegment | undefined) => boolean): number {
    const doomed: LogSegment[] = [];
    for (let i = 0; i < this.segments.length; i++) {
      const s = this.segments[i];
      const next = this.segments[i + 1];
      const upper = next !== undefined ? next.baseOffset : this.logEndOffset;
      const lastAndEmpty = next === undefined && s.size === 0;
      if (this._highWatermark >= upper && !lastAndEmpty && predicate(s, next)) doomed.push(s);
      else break;
    }
    if (doomed.length === 0) return 0;
    if (doomed.length === this.segments.length) this.roll();
    const now = this.now();
    for (const s of this.segments.splice(0, doomed.length)) this.scheduleDelete(s, now);
    if (this.segments[0].baseOffset > this._logStartOffset) {
      this._logStartOffset = this.segments[0].baseOffset;
      this.epochs.truncateFromStart(this._logStartOffset);
    }
    return doomed.length;
  }

  private scheduleDelete(s: LogSegment, now: number): void {
    const files = s.markDeleted();
    if (this.config.fileDeleteDelayMs <= 0 || this.pendingDeletes.length >= pendingDeletesMax) {
      for (const f of files) fs.rmSync(f, { force: true });
    } else {
      this.pendingDeletes.push({ files, dueMs: now + this.config.fileDeleteDelayMs });
    }
  }

  private removeNow(s: LogSegment): void {
    for (const f of s.markDeleted()) fs.rmSync(f, { force: true });
  }

  /** Removes retired segment files whose file.delete.delay.ms has passed. */
  deletePendingFiles(now: number): void {
    while (this.pendingDeletes.length > 0 && this.pendingDeletes[0].dueMs <= now) {
      for (const f of this.pendingDeletes.shift()!.files) fs.rmSync(f, { force: true });
    }
  }

  /** fsyncs every segment written since its last flush; the recovery point becomes the LEO. */
  flush(): void {
    this.ensureOpen();
    for (const s of this.segments) if (s.dirty) s.flush();
    this.epochs.flush();
    this._recoveryPoint = this.logEndOffset;
    this.lastFlushMs = this.now();
  }

  /** flush.ms: flushes when that long has passed since the last flush and there is unflushed data. */
  maybeFlushByTime(now: number): void {
    if (this.closed || this.config.flushMs >= LONG_MAX) return;
    if (now - this.lastFlushMs >= this.config.flushMs && this._recoveryPoint < this.logEndOffset) this.flush();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  close(): void {
    if (this.closed) return;
    this.flush();
    for (const s of this.segments) s.close();
    for (const p of this.pendingDeletes.splice(0)) for (const f of p.files) fs.rmSync(f, { force: true });
    this.closed = true;
  }

  /** Closes and removes the whole partition directory. */
  deleteFiles(): void {
    this.epochs.close();
    if (!this.closed) {
      for (const s of this.segments) s.close();
      this.closed = true;
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  /** Closes the files without flushing (the directory is about to be renamed for deletion). */
  closeWithoutFlush(): void {
    this.epochs.close();
    if (this.closed) return;
    for (const s of this.segments) s.close();
    this.closed = true;
  }

  private ensureOpen(): void {
    if (this.closed) throw new Error(`log ${this.topic}-${this.partition} is closed`);
  }
}

// Names exported for tools that list a partition directory.
export const SEGMENT_SUFFIXES = [LOG_SUFFIX, INDEX_SUFFIX, TIME_INDEX_SUFFIX, TXN_INDEX_SUFFIX] as const;
