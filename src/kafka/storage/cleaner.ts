// Log compaction for cleanup.policy=compact (and compact,delete), after Kafka's LogCleaner and
// LogCleanerManager. A pass over one log: pick the log with the highest dirty ratio (bytes after its
// cleaner checkpoint over all bytes below the first uncleanable offset); map the dirty section's keys to
// their newest offsets; rewrite every inactive segment below the map's end, grouped up to segment.bytes,
// keeping what cleanerFilter.ts keeps; swap each cleaned group in (cleanerSwap.ts); advance the checkpoint.
//
// Background without stalling produce: a pass is a state machine whose step() handles at most
// `sliceBytes` of input (one segment read, decode, filter, append), and the cleaner chains steps with
// setImmediate, so appends and fetches interleave with cleaning on the one event loop. We chose slices
// over a worker thread because every step then sees the log as it is (retention, truncation or deletion
// in between is noticed at the next step and aborts the pass cleanly), no buffers cross threads, and
// tests can run a pass to completion synchronously with an injected clock.

import * as fs from 'node:fs';
import { BATCH, LOG_OVERHEAD, readInt64 } from '../protocol/batchHeader.js';
import { decodeBatches } from '../protocol/records.js';
import { tpKey } from './checkpoint.js';
import { type FilterContext, type FilterStats, filterBatches, newFilterStats, OffsetMap } from './cleanerFilter.js';
import { CLEANED_SUFFIX } from './cleanerSwap.js';
import { LONG_MAX } from './logConfig.js';
import type { PartitionLog, StorageLogger } from './partitionLog.js';
import { LogSegment } from './segment.js';

export const CLEANER_OFFSET_CHECKPOINT = 'cleaner-offset-checkpoint';
/** Input bytes one background step reads and filters before yielding to the event loop. */
export const cleanerSliceBytesDefault = 1024 * 1024;
/** Keys the offset map holds in one pass (Kafka bounds it by log.cleaner.dedupe.buffer.size). */
export const offsetMapEntriesMaxDefault = 1_000_000;
export const offsetMapKeyBytesMaxDefault = 64 * 1024 * 1024;
const INT32_MAX = 2147483647;
const NO_LIMIT = Number.MAX_SAFE_INTEGER;

export interface CleanableLog {
  log: PartitionLog;
  firstDirtyOffset: number;
  firstUncleanableOffset: number;
  cleanBytes: number;
  dirtyBytes: number;
  dirtyRatio: number;
  /** max.compaction.lag.ms has passed for the oldest dirty batch. */
  compactNow: boolean;
}

/** Kafka's LogCleanerManager.cleanableOffsets + LogToClean for one log. */
export function cleanableOf(log: PartitionLog, checkpoint: number | undefined, now: number): CleanableLog {
  const segs = log.segmentList;
  const active = segs[segs.length - 1]!;
  const c = log.config;
  let firstDirty = checkpoint ?? log.logStartOffset;
  // A checkpoint outside the log (truncated, or records deleted past it) restarts from the log start, as Kafka does.
  if (firstDirty < log.logStartOffset || firstDirty > log.logEndOffset) firstDirty = log.logStartOffset;
  let firstUncleanable = Math.min(active.baseOffset, log.highWatermark);
  let cleanBytes = 0;
  let dirtyBytes = 0;
  let firstDirtySegment: LogSegment | undefined;
  for (let i = 0; i + 1 < segs.length; i++) {
    const s = segs[i]!;
    const upper = segs[i + 1]!.baseOffset;
    if (upper <= firstDirty) {
      cleanBytes += s.size;
      continue;
    }
    if (c.minCompactionLagMs > 0 && s.largestTimestamp() > now - c.minCompactionLagMs) {
      firstUncleanable = Math.min(firstUncleanable, s.baseOffset);
    }
    if (s.baseOffset >= firstUncleanable) break;
    firstDirtySegment ??= s;
    dirtyBytes += s.size;
  }
  firstUncleanable = Math.max(firstUncleanable, firstDirty);
  let compactNow = false;
  if (c.maxCompactionLagMs < LONG_MAX && firstDirtySegment !== undefined) {
    let firstTs = -1;
    firstDirtySegment.scanBatches(0, firstDirtySegment.size, (b) => {
      firstTs = b.maxTimestamp;
      return false;
    });
    compactNow = firstTs >= 0 && now - firstTs > c.maxCompactionLagMs;
  }
  const total = cleanBytes + dirtyBytes;
  return {
    log,
    firstDirtyOffset: firstDirty,
    firstUncleanableOffset: firstUncleanable,
    cleanBytes,
    dirtyBytes,
    dirtyRatio: total > 0 ? dirtyBytes / total : 0,
    compactNow,
  };
}

export interface CleanResult {
  topic: string;
  partition: number;
  firstDirtyOffset: number;
  /** The new cleaner checkpoint: everything below it has been cleaned. */
  endOffset: number;
  segmentsBefore: number;
  segmentsAfter: number;
  stats: FilterStats;
}

interface JobOptions {
  sliceBytes: number;
  map: OffsetMap;
  lastOffsets: ReadonlyMap<number, number> | undefined;
}

/** Offset after the last whole batch in `data`. */
function nextOffsetAfter(data: Buffer): number {
  let next = -1;
  for (let p = 0; p < data.length; p += LOG_OVERHEAD + data.readInt32BE(p + BATCH.batchLength)) {
    next = readInt64(data, p) + data.readInt32BE(p + BATCH.lastOffsetDelta) + 1;
  }
  return next;
}

/** One compaction pass over one log, as resumable steps. */
class CleanJob {
  private phase: 'producers' | 'map' | 'clean' = 'producers';
  private readonly map: OffsetMap;
  private readonly sliceBytes: number;
  private mapEnd: number;
  private lastOffsets: ReadonlyMap<number, number> | undefined;
  private readonly scanned = new Map<number, number>();
  /** Segments being read by the current phase, and the next offset to read. */
  private segs: LogSegment[] = [];
  private segIdx = 0;
  private cursor = 0;
  private groups: LogSegment[][] = [];
  private groupIdx = 0;
  private cleaned: LogSegment | undefined;
  private readonly segmentsBefore: number;
  readonly stats = newFilterStats();
  private readonly openTxns = new Map<number, boolean>();

  constructor(
    readonly c: CleanableLog,
    o: JobOptions,
  ) {
    this.map = o.map;
    this.sliceBytes = o.sliceBytes;
    this.mapEnd = c.firstUncleanableOffset;
    this.lastOffsets = o.lastOffsets;
    this.segmentsBefore = c.log.segmentList.length;
    if (this.lastOffsets === undefined) {
      // No producer state at hand: find each producer's newest batch by a header walk of the whole log.
      this.startReading([...c.log.segmentList], c.log.segmentList[0]!.baseOffset);
    } else {
      this.startMap();
    }
  }

  get log(): PartitionLog {
    return this.c.log;
  }

  private startReading(segs: LogSegment[], from: number): void {
    this.segs = segs;
    this.segIdx = 0;
    this.cursor = from;
  }

  private startMap(): void {
    this.phase = 'map';
    const list = this.log.segmentList;
    const segs: LogSegment[] = [];
    for (let i = 0; i + 1 < list.length; i++) {
      const s = list[i]!;
      if (list[i + 1]!.baseOffset > this.c.firstDirtyOffset && s.baseOffset < this.c.firstUncleanableOffset) segs.push(s);
    }
    this.startReading(segs, this.c.firstDirtyOffset);
  }

  private startClean(): void {
    this.phase = 'clean';
    const list = this.log.segmentList;
    const c = this.log.config;
    const groups: LogSegment[][] = [];
    let cur: LogSegment[] = [];
    let bytes = 0;
    let indexBytes = 0;
    for (let i = 0; i + 1 < list.length && list[i]!.baseOffset < this.mapEnd; i++) {
      const s = list[i]!;
      const sIndex = Math.max(s.offsetIndex.entries * 8, s.timeIndex.entries * 12);
      const fits =
        cur.length > 0 &&
        bytes + s.size <= c.segmentBytes &&
        indexBytes + sIndex <= c.segmentIndexBytes &&
        s.nextOffset - 1 - cur[0]!.baseOffset <= INT32_MAX;
      if (cur.length > 0 && !fits) {
        groups.push(cur);
        cur = [];
        bytes = 0;
        indexBytes = 0;
      }
      cur.push(s);
      bytes += s.size;
      indexBytes += sIndex;
    }
    if (cur.length > 0) groups.push(cur);
    this.groups = groups;
    this.groupIdx = 0;
    this.startReading(groups[0] ?? [], groups[0]?.[0]?.baseOffset ?? 0);
  }

  /** Reads the next slice of the current segment list; undefined when the list is done. */
  private readSlice(): Buffer | null | undefined {
    while (this.segIdx < this.segs.length) {
      const seg = this.segs[this.segIdx]!;
      const from = Math.max(this.cursor, seg.baseOffset);
      const r = from < seg.nextOffset ? seg.read(from, this.sliceBytes, NO_LIMIT, true) : { data: undefined, toEnd: true };
      if (r.data !== undefined) {
        this.cursor = nextOffsetAfter(r.data);
        if (r.toEnd) this.segIdx++;
        return r.data;
      }
      this.segIdx++;
      // The segment ended; the caller may finish work tied to it before the next one starts.
      if (this.phase === 'clean') return null;
    }
    return undefined;
  }

  private stillThere(segs: readonly LogSegment[]): boolean {
    if (this.log.isClosed) return false;
    const list = this.log.segmentList;
    const i = list.indexOf(segs[0]!);
    return i >= 0 && i + segs.length < list.length && segs.every((s, k) => list[i + k] === s);
  }

  /** Does one bounded slice of work; true when the pass is complete. Throws when the log changed under it. */
  step(now: number): boolean {
    if (this.log.isClosed) throw new Error('log closed while being cleaned');
    if (this.phase === 'producers') {
      const data = this.readSlice();
      if (data === undefined) {
        this.lastOffsets = this.scanned;
        this.startMap();
        return false;
      }
      if (data === null) return false;
      for (let p = 0; p < data.length; p += LOG_OVERHEAD + data.readInt32BE(p + BATCH.batchLength)) {
        const pid = readInt64(data, p + BATCH.producerId);
        if (pid >= 0) this.scanned.set(pid, readInt64(data, p) + data.readInt32BE(p + BATCH.lastOffsetDelta));
      }
      return false;
    }
    if (this.phase === 'map') {
      if (this.segIdx < this.segs.length && !this.stillThere(this.segs.slice(this.segIdx, this.segIdx + 1))) {
        throw new Error('segments changed while mapping');
      }
      const data = this.readSlice();
      if (data === undefined) {
        this.startClean();
        return this.groups.length === 0;
      }
      if (data !== null && this.mapSlice(data)) this.startClean();
      return false;
    }
    return this.cleanStep(now);
  }

  /** Adds a slice's keys to the map; true when mapping must stop (end reached or map full). */
  private mapSlice(data: Buffer): boolean {
    const lo = this.c.firstDirtyOffset;
    const hi = this.c.firstUncleanableOffset;
    for (const b of decodeBatches(data)) {
      if (b.baseOffset >= hi) return true;
      if (b.control) continue;
      let n = 0;
      let bytes = 0;
      for (const r of b.records) {
        if (r.key !== null && r.offset >= lo && r.offset < hi) {
          n++;
          bytes += r.key.length;
        }
      }
      if (this.map.size > 0 && !this.map.fits(n, bytes)) {
        // Full: records from this batch on are left for the next pass, as Kafka leaves them past the map's end.
        this.mapEnd = Math.max(b.baseOffset, lo);
        return true;
      }
      for (const r of b.records) if (r.key !== null && r.offset >= lo && r.offset < hi) this.map.put(r.key, r.offset);
    }
    return false;
  }

  private cleanStep(now: number): boolean {
    const group = this.groups[this.groupIdx];
    if (group === undefined) return true;
    if (!this.stillThere(group)) throw new Error('segments changed while cleaning');
    const c = this.log.config;
    this.cleaned ??= LogSegment.createWithSuffix(
      this.log.dir,
      group[0]!.baseOffset,
      { indexIntervalBytes: c.indexIntervalBytes, segmentIndexBytes: c.segmentIndexBytes, now },
      CLEANED_SUFFIX,
    );
    const data = this.readSlice();
    if (data) {
      const ctx: FilterContext = {
        now,
        deleteRetentionMs: c.deleteRetentionMs,
        map: this.map,
        mapEndOffset: this.mapEnd,
        isLastBatchOfProducer: (pid, last) => this.lastOffsets?.get(pid) === last,
        openTxns: this.openTxns,
      };
      const out = filterBatches(data, ctx, this.stats);
      if (out.length > 0) this.cleaned.append(out.length === 1 ? out[0]! : Buffer.concat(out));
      return false;
    }
    if (data === null && this.segIdx < this.segs.length) return false;
    // The group is read: make the cleaned segment durable and swap it in.
    const cleaned = this.cleaned;
    this.cleaned = undefined;
    cleaned.onBecomeInactive();
    cleaned.flush();
    this.log.replaceSegments(group, cleaned);
    this.groupIdx++;
    const next = this.groups[this.groupIdx];
    if (next === undefined) return true;
    this.startReading(next, next[0]!.baseOffset);
    return false;
  }

  result(): CleanResult {
    return {
      topic: this.log.topic,
      partition: this.log.partition,
      firstDirtyOffset: this.c.firstDirtyOffset,
      endOffset: this.mapEnd,
      segmentsBefore: this.segmentsBefore,
      segmentsAfter: this.log.segmentList.length,
      stats: this.stats,
    };
  }

  /** Drops a half-written cleaned segment. */
  abort(): void {
    const cleaned = this.cleaned;
    this.cleaned = undefined;
    if (cleaned !== undefined) for (const f of cleaned.markDeleted()) fs.rmSync(f, { force: true });
  }
}

export interface LogCleanerOptions {
  now: () => number;
  logger?: StorageLogger;
  sliceBytes?: number;
  offsetMapEntriesMax?: number;
  offsetMapKeyBytesMax?: number;
  /** Newest batch's last offset per producer id (from producer state); without it the cleaner scans the log. */
  producerLastOffsets?: (log: PartitionLog) => ReadonlyMap<number, number> | undefined;
  /** Called after a pass moved a log's checkpoint, to persist cleaner-offset-checkpoint. */
  onCheckpoint?: (log: PartitionLog) => void;
}

export class LogCleaner {
  private readonly checkpoints = new Map<string, { topic: string; partition: number; offset: number }>();
  /** Latest delete horizon left in each log by its last pass: once passed, the log is cleaned even if not dirty. */
  private readonly deleteHorizons = new Map<string, number>();
  private job: CleanJob | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private idleWaiters: (() => void)[] = [];
  private closed = false;
  /** The outcome of the last pass that completed (for tools and tests). */
  lastResult: CleanResult | undefined;
  passes = 0;

  constructor(private readonly o: LogCleanerOptions) {}

  get busy(): boolean {
    return this.job !== undefined;
  }

  setCheckpoint(topic: string, partition: number, offset: number): void {
    this.checkpoints.set(tpKey(topic, partition), { topic, partition, offset });
  }

  checkpointOf(topic: string, partition: number): number | undefined {
    return this.checkpoints.get(tpKey(topic, partition))?.offset;
  }

  /** Checkpoint entries of the given logs (those never cleaned have none). */
  checkpointEntries(logs: Iterable<PartitionLog>): { topic: string; partition: number; offset: number }[] {
    const out: { topic: string; partition: number; offset: number }[] = [];
    for (const l of logs) {
      const e = this.checkpoints.get(tpKey(l.topic, l.partition));
      if (e !== undefined) out.push(e);
    }
    return out;
  }

  /** Forgets a deleted log, aborting a pass over it. */
  forget(log: PartitionLog): void {
    if (this.job?.log === log) this.stopJob();
    const key = tpKey(log.topic, log.partition);
    this.checkpoints.delete(key);
    this.deleteHorizons.delete(key);
  }

  /** Kafka's grabFilthiestCompactedLog: the dirtiest log over its min.cleanable.dirty.ratio, else one whose tombstones expired. */
  pick(logs: Iterable<PartitionLog>, now: number): CleanableLog | undefined {
    let best: CleanableLog | undefined;
    let expired: CleanableLog | undefined;
    for (const log of logs) {
      if (log.isClosed || !log.config.cleanupPolicy.includes('compact')) continue;
      const c = cleanableOf(log, this.checkpointOf(log.topic, log.partition), now);
      const dirty = c.dirtyBytes > 0 && (c.compactNow || c.dirtyRatio > log.config.minCleanableDirtyRatio);
      if (dirty && (best === undefined || c.dirtyRatio > best.dirtyRatio)) best = c;
      const horizon = this.deleteHorizons.get(tpKey(log.topic, log.partition));
      if (!dirty && expired === undefined && horizon !== undefined && horizon <= now) expired = c;
    }
    return best ?? expired;
  }

  private newJob(c: CleanableLog): CleanJob {
    return new CleanJob(c, {
      sliceBytes: this.o.sliceBytes ?? cleanerSliceBytesDefault,
      map: new OffsetMap(
        this.o.offsetMapEntriesMax ?? offsetMapEntriesMaxDefault,
        this.o.offsetMapKeyBytesMax ?? offsetMapKeyBytesMaxDefault,
      ),
      lastOffsets: this.o.producerLastOffsets?.(c.log),
    });
  }

  /** Starts a background pass over the filthiest log; false when busy, closed or nothing needs cleaning. */
  maybeStart(logs: Iterable<PartitionLog>, now: number): boolean {
    if (this.closed || this.job !== undefined) return false;
    const c = this.pick(logs, now);
    if (c === undefined) return false;
    this.job = this.newJob(c);
    this.schedule();
    return true;
  }

  /** Runs a whole pass over the filthiest log on this turn (tests and tools); undefined when nothing to clean. */
  cleanNow(logs: Iterable<PartitionLog>, now = this.o.now()): CleanResult | undefined {
    if (this.closed || this.job !== undefined) return undefined;
    const c = this.pick(logs, now);
    if (c === undefined) return undefined;
    const job = this.newJob(c);
    this.job = job;
    try {
      while (!job.step(now));
    } catch (err) {
      this.stopJob();
      throw err;
    }
    return this.finish(job);
  }

  private schedule(): void {
    this.immediate = setImmediate(() => {
      this.immediate = undefined;
      const job = this.job;
      if (job === undefined) return;
      try {
        if (job.step(this.o.now())) this.finish(job);
        else this.schedule();
      } catch (err) {
        this.o.logger?.warn({ topic: job.log.topic, partition: job.log.partition, err: (err as Error).message }, 'log cleaning aborted');
        this.stopJob();
      }
    });
  }

  private finish(job: CleanJob): CleanResult {
    const r = job.result();
    const log = job.log;
    this.setCheckpoint(log.topic, log.partition, r.endOffset);
    const key = tpKey(log.topic, log.partition);
    if (r.stats.latestDeleteHorizonMs >= 0) this.deleteHorizons.set(key, r.stats.latestDeleteHorizonMs);
    else this.deleteHorizons.delete(key);
    this.job = undefined;
    this.lastResult = r;
    this.passes++;
    try {
      this.o.onCheckpoint?.(log);
    } catch (err) {
      this.o.logger?.warn({ topic: log.topic, err: (err as Error).message }, 'could not write the cleaner checkpoint');
    }
    this.o.logger?.info(
      {
        topic: r.topic,
        partition: r.partition,
        from: r.firstDirtyOffset,
        to: r.endOffset,
        segments: `${r.segmentsBefore}->${r.segmentsAfter}`,
        records: `${r.stats.recordsRead}->${r.stats.recordsKept}`,
        bytes: `${r.stats.bytesRead}->${r.stats.bytesWritten}`,
      },
      'cleaned log',
    );
    this.wakeIdle();
    return r;
  }

  private stopJob(): void {
    if (this.immediate !== undefined) clearImmediate(this.immediate);
    this.immediate = undefined;
    this.job?.abort();
    this.job = undefined;
    this.wakeIdle();
  }

  private wakeIdle(): void {
    for (const w of this.idleWaiters.splice(0)) w();
  }

  /** Settles when no pass is running. */
  whenIdle(): Promise<void> {
    if (this.job === undefined) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  close(): void {
    this.closed = true;
    this.stopJob();
  }
}
