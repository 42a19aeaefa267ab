// One log segment: `<20-digit base offset>.log` holding record batches exactly as on the wire, plus its
// .index and .timeindex, following Kafka's LogSegment (index an entry when more than
// index.interval.bytes were written since the last one; keep the largest timestamp seen; on roll/close
// add the final time index entry and trim both indexes).

import * as fs from 'node:fs';
import * as path from 'node:path';
// One CRC-32C for the project: records.ts picks JS or native by input size (measured there).
import { crc32c } from '../protocol/records.js';
import { BATCH, BATCH_HEADER_BYTES, LOG_OVERHEAD, readInt64 } from '../protocol/batchHeader.js';
import type { LeaderEpochCache } from './leaderEpochCache.js';
import { OffsetIndex } from './offsetIndex.js';
import { acquireReadBuffer, releaseReadBuffer } from './readBuffers.js';
import { NO_TIMESTAMP, TimeIndex } from './timeIndex.js';

export const LOG_SUFFIX = '.log';
export const INDEX_SUFFIX = '.index';
export const TIME_INDEX_SUFFIX = '.timeindex';
export const TXN_INDEX_SUFFIX = '.txnindex';
export const DELETED_SUFFIX = '.deleted';

/** Read size while re-validating a segment at recovery (grown once for a single larger batch). */
export const recoveryChunkBytes = 1024 * 1024;
/** Read size while walking batch headers from an index position. */
const headerScanChunkBytes = 16 * 1024;
let scanScratch: Buffer | undefined;

export function filenamePrefixFromOffset(offset: number): string {
  return String(offset).padStart(20, '0');
}

export interface BatchInfo {
  position: number;
  baseOffset: number;
  lastOffset: number;
  maxTimestamp: number;
  size: number;
}

export function readFully(fd: number, buf: Buffer, length: number, position: number): number {
  let done = 0;
  while (done < length) {
    const n = fs.readSync(fd, buf, done, length - done, position + done);
    if (n === 0) break;
    done += n;
  }
  return done;
}

export function writeFully(fd: number, buf: Buffer, position: number): void {
  let done = 0;
  while (done < buf.length) done += fs.writeSync(fd, buf, done, buf.length - done, position + done);
}

export interface SegmentOptions {
  indexIntervalBytes: number;
  segmentIndexBytes: number;
  now: number;
}

export class LogSegment {
  size: number;
  /** Offset after the last batch; baseOffset when empty. */
  nextOffset: number;
  maxTimestampSoFar = NO_TIMESTAMP;
  offsetOfMaxTimestampSoFar: number;
  created: number;
  /** Bytes appended since the last fsync of this segment. */
  dirty = false;
  /** Set when an index file was missing or failed its sanity check at open: the segment needs recovery. */
  readonly needsRecovery: boolean;
  indexIntervalBytes: number;
  readonly offsetIndex: OffsetIndex;
  readonly timeIndex: TimeIndex;
  private fd: number;
  private logFile: string;
  private bytesSinceLastIndexEntry = 0;
  private rollingBasedTimestamp: number | undefined;
  private closed = false;

  private constructor(
    readonly dir: string,
    readonly baseOffset: number,
    o: SegmentOptions,
    create: boolean,
    fileSuffix = '',
  ) {
    const prefix = path.join(dir, filenamePrefixFromOffset(baseOffset));
    this.logFile = prefix + LOG_SUFFIX + fileSuffix;
    this.indexIntervalBytes = o.indexIntervalBytes;
    this.created = o.now;
    this.offsetOfMaxTimestampSoFar = baseOffset;
    if (create) {
      // A leftover non-empty .log at this offset means our bookkeeping is wrong: refuse to overwrite it.
      let existing = 0;
      try {
        existing = fs.statSync(this.logFile).size;
      } catch {
        // absent, as expected
      }
      if (existing > 0) throw new Error(`${this.logFile} already exists with ${existing} bytes`);
      for (const s of [INDEX_SUFFIX, TIME_INDEX_SUFFIX, TXN_INDEX_SUFFIX]) fs.rmSync(prefix + s + fileSuffix, { force: true });
      this.fd = fs.openSync(this.logFile, 'w+');
    } else {
      this.fd = fs.openSync(this.logFile, 'r+');
    }
    this.size = fs.fstatSync(this.fd).size;
    this.nextOffset = baseOffset;
    this.offsetIndex = new OffsetIndex(prefix + INDEX_SUFFIX + fileSuffix, baseOffset, o.segmentIndexBytes);
    this.timeIndex = new TimeIndex(prefix + TIME_INDEX_SUFFIX + fileSuffix, baseOffset, o.segmentIndexBytes);
    let broken = !create && (this.offsetIndex.newlyCreated || this.timeIndex.newlyCreated);
    if (!create && !broken) {
      try {
        this.offsetIndex.sanityCheck(this.size);
        this.timeIndex.sanityCheck();
      } catch {
        broken = true;
      }
    }
    this.needsRecovery = broken;
    if (!broken && !create) this.loadTail();
  }

  static create(dir: string, baseOffset: number, o: SegmentOptions): LogSegment {
    return new LogSegment(dir, baseOffset, o, true);
  }

  static open(dir: string, baseOffset: number, o: SegmentOptions): LogSegment {
    return new LogSegment(dir, baseOffset, o, false);
  }

  /** A new segment whose files carry `suffix` (the cleaner writes `<base>.log.cleaned` and friends). */
  static createWithSuffix(dir: string, baseOffset: number, o: SegmentOptions, suffix: string): LogSegment {
    return new LogSegment(dir, baseOffset, o, true, suffix);
  }

  /**
   * Renames the files from `from` to `to` suffixes (the cleaner's .cleaned -> .swap -> live steps); the
   * .log goes last, so a .log with the new suffix means its indexes were renamed before it.
   */
  changeFileSuffix(from: string, to: string): void {
    const strip = (f: string): string => {
      if (!f.endsWith(from)) throw new Error(`${f} does not end in ${JSON.stringify(from)}`);
      return f.slice(0, f.length - from.length) + to;
    };
    this.offsetIndex.renameTo(strip(this.offsetIndex.file));
    this.timeIndex.renameTo(strip(this.timeIndex.file));
    const log = strip(this.logFile);
    fs.renameSync(this.logFile, log);
    this.logFile = log;
  }

  get file(): string {
    return this.logFile;
  }

  /** Last modification time of the .log (used when no batch carries a timestamp). */
  lastModified(): number {
    return fs.fstatSync(this.fd).mtimeMs;
  }

  /** The newest timestamp in the segment, else the file's mtime, as Kafka's retention uses. */
  largestTimestamp(): number {
    return this.maxTimestampSoFar >= 0 ? this.maxTimestampSoFar : this.lastModified();
  }

  /**
   * Walks batch headers from `from` (a batch boundary) to `end`, calling `visit` until it returns false.
   * Stops quietly at a header that does not fit (only recovery looks further than that).
   */
  scanBatches(from: number, end: number, visit: (b: BatchInfo) => boolean): void {
    // Every Fetch scans from an index entry; reuse one scratch rather than allocate 16 KB each time
    // (taken while in use, so a visitor that scans again gets its own).
    const chunk = scanScratch ?? Buffer.allocUnsafe(headerScanChunkBytes);
    scanScratch = undefined;
    try {
      this.scanFrom(chunk, from, end, visit);
    } finally {
      scanScratch = chunk;
    }
  }

  private scanFrom(chunk: Buffer, from: number, end: number, visit: (b: BatchInfo) => boolean): void {
    let chunkStart = 0;
    let chunkLen = 0;
    let pos = from;
    while (pos + BATCH_HEADER_BYTES <= end) {
      if (pos < chunkStart || pos + BATCH_HEADER_BYTES > chunkStart + chunkLen) {
        if (chunk.length < BATCH_HEADER_BYTES) chunk = Buffer.allocUnsafe(headerScanChunkBytes);
        chunkLen = readFully(this.fd, chunk, Math.min(chunk.length, end - pos), pos);
        chunkStart = pos;
        if (chunkLen < BATCH_HEADER_BYTES) return;
      }
      const o = pos - chunkStart;
      const size = LOG_OVERHEAD + chunk.readInt32BE(o + BATCH.batchLength);
      if (size < BATCH_HEADER_BYTES || pos + size > end) return;
      const baseOffset = readInt64(chunk, o + BATCH.baseOffset);
      const info: BatchInfo = {
        position: pos,
        baseOffset,
        lastOffset: baseOffset + chunk.readInt32BE(o + BATCH.lastOffsetDelta),
        maxTimestamp: readInt64(chunk, o + BATCH.maxTimestamp),
        size,
      };
      if (!visit(info)) return;
      pos += size;
    }
  }

  /** Restores nextOffset, max timestamp and the index byte counter from the indexes plus a short scan. */
  private loadTail(): void {
    const from = this.offsetIndex.entries > 0 ? this.offsetIndex.lastEntry.position : 0;
    const t = this.timeIndex.lastEntry;
    this.maxTimestampSoFar = t.timestamp;
    this.offsetOfMaxTimestampSoFar = t.offset;
    this.nextOffset = this.baseOffset;
    this.scanBatches(from, this.size, (b) => {
      this.nextOffset = b.lastOffset + 1;
      if (b.maxTimestamp > this.maxTimestampSoFar) {
        this.maxTimestampSoFar = b.maxTimestamp;
        this.offsetOfMaxTimestampSoFar = b.lastOffset;
      }
      return true;
    });
    this.bytesSinceLastIndexEntry = this.size - from;
  }

  /** The first batch whose last offset is >= offset, starting at the index position for it. */
  translateOffset(offset: number, startingPosition = 0): BatchInfo | undefined {
    const from = Math.max(this.offsetIndex.lookup(offset).position, startingPosition);
    let found: BatchInfo | undefined;
    this.scanBatches(from, this.size, (b) => {
      if (b.lastOffset >= offset) {
        found = b;
        return false;
      }
      return true;
    });
    return found;
  }

  /**
   * Whole batches from the one holding startOffset, at most maxBytes (at least the first batch when
   * minOneBatch), none holding an offset >= maxOffset. `toEnd` tells the caller it may continue in the
   * next segment (everything up to this segment's end was returned).
   */
  read(startOffset: number, maxBytes: number, maxOffset: number, minOneBatch: boolean): { data: Buffer | undefined; toEnd: boolean } {
    const first = this.translateOffset(startOffset);
    if (first === undefined) return { data: undefined, toEnd: true };
    if (first.lastOffset >= maxOffset) return { data: undefined, toEnd: false };
    let limit = this.size;
    if (maxOffset < this.nextOffset) {
      const m = this.translateOffset(maxOffset, first.position);
      if (m !== undefined) limit = m.position;
    }
    let want = Math.min(maxBytes, limit - first.position);
    if (want < first.size) {
      if (!minOneBatch) return { data: undefined, toEnd: false };
      want = first.size;
    }
    // Pooled: the connection returns it once written (readBuffers.ts); dropped here if unused.
    const buf = acquireReadBuffer(want);
    const got = readFully(this.fd, buf, want, first.position);
    let p = 0;
    while (p + BATCH_HEADER_BYTES <= got) {
      const size = LOG_OVERHEAD + buf.readInt32BE(p + BATCH.batchLength);
      if (size < BATCH_HEADER_BYTES || p + size > got) break;
      p += size;
    }
    if (p === 0) releaseReadBuffer(buf);
    return { data: p > 0 ? buf.subarray(0, p) : undefined, toEnd: limit === this.size && first.position + p === limit };
  }

  /** Appends batches whose offsets are already assigned (every batch header valid, buffer = whole batches). */
  append(records: Buffer): void {
    const start = this.size;
    writeFully(this.fd, records, start);
    this.dirty = true;
    let p = 0;
    while (p < records.length) {
      const size = LOG_OVERHEAD + records.readInt32BE(p + BATCH.batchLength);
      const lastOffset = readInt64(records, p) + records.readInt32BE(p + BATCH.lastOffsetDelta);
      const maxTs = readInt64(records, p + BATCH.maxTimestamp);
      if (start + p === 0) this.rollingBasedTimestamp = maxTs;
      if (maxTs > this.maxTimestampSoFar) {
        this.maxTimestampSoFar = maxTs;
        this.offsetOfMaxTimestampSoFar = lastOffset;
      }
      if (this.bytesSinceLastIndexEntry > this.indexIntervalBytes) {
        this.offsetIndex.append(lastOffset, start + p);
        this.timeIndex.maybeAppend(this.maxTimestampSoFar, this.offsetOfMaxTimestampSoFar);
        this.bytesSinceLastIndexEntry = 0;
      }
      this.bytesSinceLastIndexEntry += size;
      this.nextOffset = lastOffset + 1;
      p += size;
    }
    this.size = start + records.length;
  }

  /** Kafka's roll rules for the active segment, given what is about to be appended. */
  shouldRoll(o: {
    now: number;
    segmentBytes: number;
    segmentMs: number;
    jitterMs: number;
    messagesSize: number;
    maxTimestampInMessages: number;
    maxOffsetInMessages: number;
  }): boolean {
    const reachedRollMs = this.timeWaitedForRoll(o.now, o.maxTimestampInMessages) > o.segmentMs - o.jitterMs;
    return (
      this.size > o.segmentBytes - o.messagesSize ||
      (this.size > 0 && reachedRollMs) ||
      this.offsetIndex.isFull() ||
      this.timeIndex.isFull() ||
      !this.offsetIndex.canAppendOffset(o.maxOffsetInMessages)
    );
  }

  private timeWaitedForRoll(now: number, messageTimestamp: number): number {
    if (this.rollingBasedTimestamp === undefined && this.size > 0) {
      const h = Buffer.alloc(BATCH_HEADER_BYTES);
      if (readFully(this.fd, h, BATCH_HEADER_BYTES, 0) === BATCH_HEADER_BYTES) {
        this.rollingBasedTimestamp = readInt64(h, BATCH.maxTimestamp);
      }
    }
    const ts = this.rollingBasedTimestamp;
    if (ts !== undefined && ts >= 0) return messageTimestamp - ts;
    return now - this.created;
  }

  /** First batch with maxTimestamp >= ts and lastOffset >= startingOffset (Kafka's findOffsetByTimestamp). */
  findByTimestamp(ts: number, startingOffset: number): BatchInfo | undefined {
    const t = this.timeIndex.lookup(ts);
    const from = this.offsetIndex.lookup(Math.max(t.offset, startingOffset)).position;
    let found: BatchInfo | undefined;
    this.scanBatches(from, this.size, (b) => {
      if (b.maxTimestamp >= ts && b.lastOffset >= startingOffset) {
        found = b;
        return false;
      }
      return true;
    });
    return found;
  }

  /**
   * Re-reads every batch, checking structure, magic, offsets and CRC-32C; rebuilds both indexes and the
   * epoch entries; truncates at the first bad batch. Returns the bytes cut off.
   */
  recover(segmentIndexBytes: number, epochs?: LeaderEpochCache): number {
    this.offsetIndex.reset(segmentIndexBytes);
    this.timeIndex.reset(segmentIndexBytes);
    const fileSize = fs.fstatSync(this.fd).size;
    let chunk = Buffer.allocUnsafe(Math.min(recoveryChunkBytes, Math.max(fileSize, BATCH_HEADER_BYTES)));
    let chunkStart = 0;
    let chunkLen = 0;
    let valid = 0;
    let lastIndexEntry = 0;
    let prevLast = this.baseOffset - 1;
    this.maxTimestampSoFar = NO_TIMESTAMP;
    this.offsetOfMaxTimestampSoFar = this.baseOffset;
    this.nextOffset = this.baseOffset;
    this.rollingBasedTimestamp = undefined;
    while (fileSize - valid >= BATCH_HEADER_BYTES) {
      if (valid + BATCH_HEADER_BYTES > chunkStart + chunkLen) {
        chunkLen = readFully(this.fd, chunk, Math.min(chunk.length, fileSize - valid), valid);
        chunkStart = valid;
      }
      let o = valid - chunkStart;
      const size = LOG_OVERHEAD + chunk.readInt32BE(o + BATCH.batchLength);
      if (size < BATCH_HEADER_BYTES || size > fileSize - valid) break;
      if (valid + size > chunkStart + chunkLen) {
        if (size > chunk.length) chunk = Buffer.allocUnsafe(size);
        chunkLen = readFully(this.fd, chunk, Math.min(chunk.length, fileSize - valid), valid);
        chunkStart = valid;
        o = 0;
        if (chunkLen < size) break;
      }
      const b = chunk.subarray(o, o + size);
      if (b.readInt8(BATCH.magic) !== 2) break;
      if (crc32c(b, BATCH.attributes) !== b.readUInt32BE(BATCH.crc)) break;
      const baseOffset = readInt64(b, BATCH.baseOffset);
      const delta = b.readInt32BE(BATCH.lastOffsetDelta);
      const lastOffset = baseOffset + delta;
      if (delta < 0 || baseOffset <= prevLast || !this.offsetIndex.canAppendOffset(lastOffset)) break;
      const maxTs = readInt64(b, BATCH.maxTimestamp);
      if (valid === 0) this.rollingBasedTimestamp = maxTs;
      if (maxTs > this.maxTimestampSoFar) {
        this.maxTimestampSoFar = maxTs;
        this.offsetOfMaxTimestampSoFar = lastOffset;
      }
      if (valid - lastIndexEntry > this.indexIntervalBytes) {
        this.offsetIndex.append(lastOffset, valid);
        this.timeIndex.maybeAppend(this.maxTimestampSoFar, this.offsetOfMaxTimestampSoFar);
        lastIndexEntry = valid;
      }
      const epoch = b.readInt32BE(BATCH.partitionLeaderEpoch);
      if (epochs !== undefined && epoch >= 0 && epoch > epochs.latestEpoch) epochs.assign(epoch, baseOffset);
      prevLast = lastOffset;
      this.nextOffset = lastOffset + 1;
      valid += size;
    }
    const truncated = fileSize - valid;
    if (truncated > 0) fs.ftruncateSync(this.fd, valid);
    this.size = valid;
    this.bytesSinceLastIndexEntry = valid - lastIndexEntry;
    this.offsetIndex.trimToValidSize();
    if (this.maxTimestampSoFar >= 0) {
      this.timeIndex.maybeAppend(this.maxTimestampSoFar, this.offsetOfMaxTimestampSoFar, true);
    }
    this.timeIndex.trimToValidSize();
    this.dirty = true;
    return truncated;
  }

  /** Removes every batch holding an offset >= `offset` (whole batches); returns the bytes removed. */
  truncateTo(offset: number, now: number): number {
    const m = this.translateOffset(offset);
    this.offsetIndex.truncateTo(offset);
    this.timeIndex.truncateTo(offset);
    if (m === undefined) return 0;
    const removed = this.size - m.position;
    fs.ftruncateSync(this.fd, m.position);
    this.size = m.position;
    if (this.size === 0) {
      this.created = now;
      this.rollingBasedTimestamp = undefined;
    }
    this.dirty = true;
    this.loadTail();
    return removed;
  }

  /** Called when the segment stops being the active one: final time entry, indexes trimmed to their entries. */
  onBecomeInactive(): void {
    if (this.maxTimestampSoFar >= 0) {
      this.timeIndex.maybeAppend(this.maxTimestampSoFar, this.offsetOfMaxTimestampSoFar, true);
    }
    this.offsetIndex.trimToValidSize();
    this.timeIndex.trimToValidSize();
  }

  /** Back to preallocated indexes when the segment becomes (again) the active one. */
  resizeIndexes(segmentIndexBytes: number): void {
    this.offsetIndex.resize(segmentIndexBytes);
    this.timeIndex.resize(segmentIndexBytes);
  }

  flush(): void {
    if (this.closed) return;
    fs.fsyncSync(this.fd);
    this.offsetIndex.flush();
    this.timeIndex.flush();
    this.dirty = false;
  }

  files(): string[] {
    return [this.logFile, this.offsetIndex.file, this.timeIndex.file];
  }

  close(): void {
    if (this.closed) return;
    this.onBecomeInactive();
    this.closed = true;
    fs.closeSync(this.fd);
    this.offsetIndex.close();
    this.timeIndex.close();
  }

  /** Closes and renames the files to `*.deleted`; returns the new paths for later removal. */
  markDeleted(): string[] {
    if (!this.closed) {
      this.closed = true;
      fs.closeSync(this.fd);
      this.offsetIndex.close();
      this.timeIndex.close();
    }
    const out: string[] = [];
    for (const f of this.files()) {
      try {
        fs.renameSync(f, f + DELETED_SUFFIX);
        out.push(f + DELETED_SUFFIX);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      }
    }
    return out;
  }
}
