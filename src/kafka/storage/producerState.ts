// Per-partition idempotent/transactional producer state, after Kafka 3.9's ProducerStateManager,
// ProducerStateEntry and ProducerAppendInfo: the epoch and the last 5 batches of each producer id
// (to answer retried batches with their original offsets), the open transaction's first offset,
// and the `.snapshot` files that carry the state across restarts. Pure apart from the snapshot
// file functions at the end.

import { readdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
// One CRC-32C for the project: records.ts picks JS or native by input size (measured there).
import { crc32c } from '../protocol/records.js';

export const NO_PRODUCER_ID = -1;
export const NO_PRODUCER_EPOCH = -1;
export const NO_SEQUENCE = -1;
/** ProducerStateEntry.NUM_BATCHES_TO_RETAIN: the dedup window (max.in.flight.requests.per.connection). */
export const NUM_BATCHES_TO_RETAIN = 5;

export const OUT_OF_ORDER_SEQUENCE_NUMBER = 45;
export const INVALID_PRODUCER_EPOCH = 47;
export const INVALID_TXN_STATE = 48;
export const TRANSACTION_COORDINATOR_FENCED = 52;
export const UNKNOWN_PRODUCER_ID = 59;

const INT32_MAX = 2147483647;

/** DefaultRecordBatch.incrementSequence: sequences wrap from Int32 max to 0. */
export function incrementSequence(sequence: number, increment: number): number {
  return sequence > INT32_MAX - increment ? increment - (INT32_MAX - sequence) - 1 : sequence + increment;
}

export function decrementSequence(sequence: number, decrement: number): number {
  return sequence < decrement ? INT32_MAX - (decrement - sequence) + 1 : sequence - decrement;
}

/** What the log needs of a record batch (v2 header fields) to check and record it. */
export interface ProducerBatch {
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  lastOffsetDelta: number;
  recordsCount: number;
  maxTimestamp: number;
  transactional: boolean;
}

export interface BatchMetadata {
  lastSeq: number;
  lastOffset: number;
  /** lastOffset - firstOffset. */
  offsetDelta: number;
  timestamp: number;
}

export interface ProducerStateEntry {
  producerId: number;
  producerEpoch: number;
  /** Oldest first, at most NUM_BATCHES_TO_RETAIN, all of producerEpoch. */
  batches: BatchMetadata[];
  coordinatorEpoch: number;
  /** Max timestamp of the last batch (or the marker's timestamp): the expiry clock. */
  lastTimestamp: number;
  /** First offset of the open transaction, -1 when none. */
  currentTxnFirstOffset: number;
}

export type BatchCheck =
  | { kind: 'ok' }
  /** A retry of a batch already in the log: answer success with these offsets, append nothing. */
  | { kind: 'duplicate'; firstOffset: number; lastOffset: number }
  | { kind: 'error'; code: number; message: string };

export interface CompletedTxn {
  producerId: number;
  firstOffset: number;
  lastOffset: number;
  isAborted: boolean;
}

export interface ProducerStateOptions {
  producerIdExpirationMs: number;
  /** The partition directory, for the snapshot calls that do not name one. */
  dir?: string;
  /** Bound on tracked producer ids; past it the longest idle one without an open transaction goes. */
  producersMax?: number;
}

const firstSeqOf = (b: BatchMetadata): number => decrementSequence(b.lastSeq, b.offsetDelta);
const firstOffsetOf = (b: BatchMetadata): number => b.lastOffset - b.offsetDelta;
const lastSeqOf = (e: ProducerStateEntry): number => (e.batches.length ? e.batches[e.batches.length - 1]!.lastSeq : NO_SEQUENCE);

function emptyEntry(producerId: number): ProducerStateEntry {
  return { producerId, producerEpoch: NO_PRODUCER_EPOCH, batches: [], coordinatorEpoch: -1, lastTimestamp: -1, currentTxnFirstOffset: -1 };
}

function setEpoch(e: ProducerStateEntry, epoch: number): void {
  if (e.producerEpoch !== epoch) {
    e.batches = [];
    e.producerEpoch = epoch;
  }
}

export class ProducerStateManager {
  private readonly producers = new Map<number, ProducerStateEntry>();
  private readonly expirationMs: number;
  private readonly producersMax: number;
  private readonly dir: string | undefined;
  /** The offset up to which the state reflects the log (exclusive). */
  mapEndOffset = 0;

  constructor(opts: ProducerStateOptions) {
    this.expirationMs = opts.producerIdExpirationMs;
    this.producersMax = opts.producersMax ?? 100_000;
    this.dir = opts.dir;
  }

  get size(): number {
    return this.producers.size;
  }

  lastEntry(producerId: number): Readonly<ProducerStateEntry> | undefined {
    return this.producers.get(producerId);
  }

  activeProducers(): IterableIterator<Readonly<ProducerStateEntry>> {
    return this.producers.values();
  }

  private isExpired(e: ProducerStateEntry, now: number): boolean {
    return e.currentTxnFirstOffset < 0 && now - e.lastTimestamp >= this.expirationMs;
  }

  /**
   * Validates a client batch before the append (UnifiedLog.analyzeAndValidateProducerState plus
   * ProducerAppendInfo's checks). With `now`, an entry already past producer.id.expiration.ms is
   * treated as gone, as the periodic expiry would have removed it.
   *
   * Kafka 3.9 never answers UNKNOWN_PRODUCER_ID here: a producer id without state may start at
   * any sequence (KIP-360), and so may any epoch over a state whose epoch is unknown.
   */
  checkBatch(batch: ProducerBatch, now?: number): BatchCheck {
    if (batch.producerId < 0) return { kind: 'ok' };
    let entry = this.producers.get(batch.producerId);
    if (entry && now !== undefined && this.isExpired(entry, now)) {
      this.producers.delete(batch.producerId);
      entry = undefined;
    }
    const lastSeq = batch.baseSequence < 0 ? NO_SEQUENCE : incrementSequence(batch.baseSequence, batch.lastOffsetDelta);
    const pid = batch.producerId;
    if (entry && batch.producerEpoch === entry.producerEpoch) {
      const dup = entry.batches.find((b) => firstSeqOf(b) === batch.baseSequence && b.lastSeq === lastSeq);
      if (dup) return { kind: 'duplicate', firstOffset: firstOffsetOf(dup), lastOffset: dup.lastOffset };
    }
    const current = entry ?? emptyEntry(pid);
    if (batch.producerEpoch < current.producerEpoch) {
      return {
        kind: 'error',
        code: INVALID_PRODUCER_EPOCH,
        message: `Epoch of producer ${pid} is ${batch.producerEpoch}, which is smaller than the last seen epoch ${current.producerEpoch}`,
      };
    }
    if (batch.producerEpoch !== current.producerEpoch) {
      // A new epoch must start at sequence 0, unless the old epoch is unknown.
      if (batch.baseSequence !== 0 && current.producerEpoch !== NO_PRODUCER_EPOCH) {
        return {
          kind: 'error',
          code: OUT_OF_ORDER_SEQUENCE_NUMBER,
          message: `Invalid sequence number for new epoch of producer ${pid}: ${batch.producerEpoch} (request epoch), ${batch.baseSequence} (seq. number), ${current.producerEpoch} (current producer epoch)`,
        };
      }
    } else {
      const currentLastSeq = lastSeqOf(current);
      const inSequence = batch.baseSequence === currentLastSeq + 1 || (batch.baseSequence === 0 && currentLastSeq === INT32_MAX);
      if (current.producerEpoch !== NO_PRODUCER_EPOCH && !inSequence) {
        return {
          kind: 'error',
          code: OUT_OF_ORDER_SEQUENCE_NUMBER,
          message: `Out of order sequence number for producer ${pid}: ${batch.baseSequence} (incoming seq. number), ${currentLastSeq} (current end sequence number)`,
        };
      }
    }
    if (current.currentTxnFirstOffset >= 0 && !batch.transactional) {
      return {
        kind: 'error',
        code: INVALID_TXN_STATE,
        message: `Expected transactional write from producer ${pid}: its transaction started at offset ${current.currentTxnFirstOffset} is open`,
      };
    }
    return { kind: 'ok' };
  }

  private entryFor(producerId: number): ProducerStateEntry {
    let e = this.producers.get(producerId);
    if (!e) {
      if (this.producers.size >= this.producersMax) this.evictOne();
      e = emptyEntry(producerId);
      this.producers.set(producerId, e);
    }
    return e;
  }

  private evictOne(): void {
    let victim: ProducerStateEntry | undefined;
    for (const e of this.producers.values()) {
      if (e.currentTxnFirstOffset < 0 && (!victim || e.lastTimestamp < victim.lastTimestamp)) victim = e;
    }
    if (victim) this.producers.delete(victim.producerId);
  }

  /**
   * Records a batch appended at [firstOffset, lastOffset] (after checkBatch said ok, or while
   * rebuilding the state from the log, where no check applies).
   */
  recordAppend(batch: ProducerBatch, firstOffset: number, lastOffset: number): void {
    if (lastOffset + 1 > this.mapEndOffset) this.mapEndOffset = lastOffset + 1;
    if (batch.producerId < 0) return;
    const e = this.entryFor(batch.producerId);
    setEpoch(e, batch.producerEpoch);
    const lastSeq = batch.baseSequence < 0 ? NO_SEQUENCE : incrementSequence(batch.baseSequence, batch.lastOffsetDelta);
    if (e.batches.length >= NUM_BATCHES_TO_RETAIN) e.batches.shift();
    e.batches.push({ lastSeq, lastOffset, offsetDelta: lastOffset - firstOffset, timestamp: batch.maxTimestamp });
    e.lastTimestamp = batch.maxTimestamp;
    if (batch.transactional && e.currentTxnFirstOffset < 0) e.currentTxnFirstOffset = firstOffset;
  }

  /** Validates a COMMIT/ABORT marker (ProducerAppendInfo.appendEndTxnMarker's checks). */
  checkEndTxnMarker(producerId: number, producerEpoch: number, coordinatorEpoch: number): BatchCheck {
    const e = this.producers.get(producerId);
    if (!e) return { kind: 'ok' };
    if (producerEpoch < e.producerEpoch) {
      return {
        kind: 'error',
        code: INVALID_PRODUCER_EPOCH,
        message: `Epoch of producer ${producerId} is ${producerEpoch}, which is smaller than the last seen epoch ${e.producerEpoch}`,
      };
    }
    if (coordinatorEpoch < e.coordinatorEpoch) {
      return {
        kind: 'error',
        code: TRANSACTION_COORDINATOR_FENCED,
        message: `Invalid coordinator epoch for producerId ${producerId}: ${coordinatorEpoch} (zombie), ${e.coordinatorEpoch} (current)`,
      };
    }
    return { kind: 'ok' };
  }

  /** Records a marker appended at `offset`; returns the transaction it closed, if it had data here. */
  recordEndTxnMarker(
    producerId: number,
    producerEpoch: number,
    coordinatorEpoch: number,
    isAbort: boolean,
    offset: number,
    timestamp: number,
  ): CompletedTxn | undefined {
    if (offset + 1 > this.mapEndOffset) this.mapEndOffset = offset + 1;
    const e = this.entryFor(producerId);
    const done =
      e.currentTxnFirstOffset >= 0
        ? { producerId, firstOffset: e.currentTxnFirstOffset, lastOffset: offset, isAborted: isAbort }
        : undefined;
    setEpoch(e, producerEpoch);
    e.coordinatorEpoch = coordinatorEpoch;
    e.currentTxnFirstOffset = -1;
    e.lastTimestamp = timestamp;
    return done;
  }

  /** The first offset of the oldest open transaction (the last stable offset's bound), or undefined. */
  firstUndecidedOffset(): number | undefined {
    let min: number | undefined;
    for (const e of this.producers.values()) {
      if (e.currentTxnFirstOffset >= 0 && (min === undefined || e.currentTxnFirstOffset < min)) min = e.currentTxnFirstOffset;
    }
    return min;
  }

  /** Drops producers idle for producer.id.expiration.ms (open transactions never expire). Returns how many. */
  removeExpiredProducers(now: number): number {
    let n = 0;
    for (const [pid, e] of this.producers) {
      if (this.isExpired(e, now)) {
        this.producers.delete(pid);
        n++;
      }
    }
    return n;
  }

  /** The log was truncated to end at `offset` (exclusive): forget what lay at or beyond it. */
  truncateTo(offset: number): void {
    for (const [pid, e] of this.producers) {
      e.batches = e.batches.filter((b) => b.lastOffset < offset);
      if (e.currentTxnFirstOffset >= offset) e.currentTxnFirstOffset = -1;
      if (e.batches.length === 0 && e.currentTxnFirstOffset < 0) this.producers.delete(pid);
      else if (e.batches.length > 0) e.lastTimestamp = e.batches[e.batches.length - 1]!.timestamp;
    }
    if (this.mapEndOffset > offset) this.mapEndOffset = offset;
  }

  /**
   * The log now starts at `logStartOffset`: batches before it are gone. A producer left without
   * batches or an open transaction is dropped. (Kafka 3.9 keeps such producers until they
   * expire; here the dedup window goes with the data.)
   */
  truncateHead(logStartOffset: number): void {
    for (const [pid, e] of this.producers) {
      e.batches = e.batches.filter((b) => b.lastOffset >= logStartOffset);
      if (e.batches.length === 0 && e.currentTxnFirstOffset < 0) this.producers.delete(pid);
    }
    if (this.mapEndOffset < logStartOffset) this.mapEndOffset = logStartOffset;
  }

  /** Forgets everything; the state starts again at `offset`. */
  truncateFullyAndStartAt(offset: number): void {
    this.producers.clear();
    this.mapEndOffset = offset;
  }

  /** Replaces the state with snapshot entries (expired ones dropped when `now` is given). */
  loadEntries(entries: ProducerStateEntry[], mapEndOffset: number, now?: number): void {
    this.producers.clear();
    for (const e of entries) {
      if (now !== undefined && this.isExpired(e, now)) continue;
      this.producers.set(e.producerId, e);
    }
    this.mapEndOffset = mapEndOffset;
  }

  // ---------------------------------------------------------------- snapshot files

  private dirOf(dir: string | undefined): string {
    const d = dir ?? this.dir;
    if (d === undefined) throw new Error('ProducerStateManager: no directory for snapshots');
    return d;
  }

  /**
   * Writes `<20-digit offset>.snapshot` (atomically: temp file, then rename), removes snapshots
   * above `offset` (a truncated future) and keeps only the newest two. Returns the path.
   * Synchronous: it runs at start-up, shutdown and segment roll, and holds 46 bytes a producer.
   */
  takeSnapshot(offset: number): string;
  takeSnapshot(dir: string, offset: number): string;
  takeSnapshot(a: string | number, b?: number): string {
    const dir = this.dirOf(typeof a === 'string' ? a : undefined);
    const offset = typeof a === 'number' ? a : b!;
    const path = join(dir, snapshotFileName(offset));
    writeFileSync(`${path}.tmp`, encodeProducerSnapshot([...this.producers.values()]));
    renameSync(`${path}.tmp`, path);
    const offsets = listSnapshotOffsets(dir);
    const keep = offsets.filter((o) => o <= offset).slice(-2);
    for (const o of offsets) if (!keep.includes(o)) removeQuietly(join(dir, snapshotFileName(o)));
    return path;
  }

  /**
   * Loads the newest snapshot at or below `upToOffset`, deleting corrupt ones on the way, as
   * Kafka's loadFromSnapshot does. Returns its offset (the caller replays the log from there
   * with recordAppend), or undefined with the state emptied when there is none.
   */
  loadLatestSnapshot(upToOffset: number, now?: number): number | undefined;
  loadLatestSnapshot(dir: string, upToOffset: number, now?: number): number | undefined;
  loadLatestSnapshot(a: string | number, b?: number, c?: number): number | undefined {
    const dir = this.dirOf(typeof a === 'string' ? a : undefined);
    const upToOffset = typeof a === 'number' ? a : b!;
    const now = typeof a === 'number' ? b : c;
    const offsets = listSnapshotOffsets(dir)
      .filter((o) => o <= upToOffset)
      .reverse();
    for (const o of offsets) {
      const file = join(dir, snapshotFileName(o));
      let entries: ProducerStateEntry[];
      try {
        entries = decodeProducerSnapshot(readFileSync(file));
      } catch (err) {
        if (!(err instanceof CorruptSnapshotError)) throw err;
        removeQuietly(file);
        continue;
      }
      this.loadEntries(entries, o, now);
      return o;
    }
    this.producers.clear();
    return undefined;
  }
}

function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}

// ------------------------------------------------------------------ the .snapshot format

export class CorruptSnapshotError extends Error {
  override name = 'CorruptSnapshotError';
}

const SNAPSHOT_VERSION = 1;
/** version int16, crc uint32, entries count int32. */
const HEADER_BYTES = 10;
const CRC_START = 6;
/** ProducerId int64, Epoch int16, LastSequence int32, LastOffset int64, OffsetDelta int32,
 *  Timestamp int64, CoordinatorEpoch int32, CurrentTxnFirstOffset int64. */
const ENTRY_BYTES = 46;

/** LogFileUtils.filenamePrefixFromOffset plus the suffix. */
export function snapshotFileName(offset: number): string {
  return `${String(offset).padStart(20, '0')}.snapshot`;
}

function listSnapshotOffsets(dir: string): number[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  return names
    .filter((n) => /^\d{20}\.snapshot$/.test(n))
    .map((n) => Number(n.slice(0, 20)))
    .sort((a, b) => a - b);
}

/** ProducerStateManager.writeSnapshot's bytes: one entry per producer, its last batch only. */
export function encodeProducerSnapshot(entries: readonly ProducerStateEntry[]): Buffer {
  const buf = Buffer.alloc(HEADER_BYTES + ENTRY_BYTES * entries.length);
  buf.writeInt16BE(SNAPSHOT_VERSION, 0);
  buf.writeInt32BE(entries.length, 6);
  let p = HEADER_BYTES;
  for (const e of entries) {
    const last = e.batches[e.batches.length - 1];
    buf.writeBigInt64BE(BigInt(e.producerId), p);
    buf.writeInt16BE(e.producerEpoch, p + 8);
    buf.writeInt32BE(last ? last.lastSeq : NO_SEQUENCE, p + 10);
    buf.writeBigInt64BE(BigInt(last ? last.lastOffset : -1), p + 14);
    buf.writeInt32BE(last ? last.offsetDelta : 0, p + 22);
    buf.writeBigInt64BE(BigInt(e.lastTimestamp), p + 26);
    buf.writeInt32BE(e.coordinatorEpoch, p + 34);
    buf.writeBigInt64BE(BigInt(e.currentTxnFirstOffset < 0 ? -1 : e.currentTxnFirstOffset), p + 38);
    p += ENTRY_BYTES;
  }
  buf.writeUInt32BE(crc32c(buf, CRC_START), 2);
  return buf;
}

export function decodeProducerSnapshot(buf: Buffer): ProducerStateEntry[] {
  if (buf.length < HEADER_BYTES) throw new CorruptSnapshotError(`snapshot is ${buf.length} bytes, shorter than its header`);
  const version = buf.readInt16BE(0);
  if (version !== SNAPSHOT_VERSION) throw new CorruptSnapshotError(`Snapshot contained an unknown file version ${version}`);
  const stored = buf.readUInt32BE(2);
  const computed = crc32c(buf, CRC_START);
  if (stored !== computed) {
    throw new CorruptSnapshotError(`Snapshot is corrupt (CRC is no longer valid). Stored crc: ${stored}. Computed crc: ${computed}`);
  }
  const count = buf.readInt32BE(6);
  if (count < 0 || HEADER_BYTES + count * ENTRY_BYTES > buf.length) {
    throw new CorruptSnapshotError(`snapshot claims ${count} entries but holds ${buf.length} bytes`);
  }
  const out: ProducerStateEntry[] = [];
  let p = HEADER_BYTES;
  for (let i = 0; i < count; i++, p += ENTRY_BYTES) {
    const lastOffset = Number(buf.readBigInt64BE(p + 14));
    const timestamp = Number(buf.readBigInt64BE(p + 26));
    const txn = Number(buf.readBigInt64BE(p + 38));
    out.push({
      producerId: Number(buf.readBigInt64BE(p)),
      producerEpoch: buf.readInt16BE(p + 8),
      batches: lastOffset >= 0 ? [{ lastSeq: buf.readInt32BE(p + 10), lastOffset, offsetDelta: buf.readInt32BE(p + 22), timestamp }] : [],
      coordinatorEpoch: buf.readInt32BE(p + 34),
      lastTimestamp: timestamp,
      currentTxnFirstOffset: txn >= 0 ? txn : -1,
    });
  }
  return out;
}
