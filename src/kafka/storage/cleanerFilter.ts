// What compaction keeps of a run of record batches, following Kafka's LogCleaner/MemoryRecords.filterTo:
// the newest record per key (by the offset map of the dirty section), tombstones until the delete
// horizon stamped on their batch (KIP-534) has passed, the last batch of each idempotent producer even
// when emptied (so its sequence state survives), transaction markers until their horizon. A batch that
// loses nothing is written back byte for byte; one that loses records is re-encoded with the same base
// offset, last offset delta, producer fields, epoch and compression codec.

import {
  ATTR_COMPRESSION_MASK,
  ATTR_DELETE_HORIZON,
  BATCH,
  BATCH_HEADER_BYTES,
  LOG_OVERHEAD,
  writeInt64,
} from '../protocol/batchHeader.js';
import { buildBatch, crc32c, type DecodedBatch, type DecodedRecord, decodeBatches } from '../protocol/records.js';

/** Keys of the dirty section and the offset of their newest record. Bounded: the cleaner stops mapping when full. */
export class OffsetMap {
  private readonly map = new Map<string, number>();
  private keyBytes = 0;

  constructor(
    readonly entriesMax: number,
    readonly keyBytesMax: number,
  ) {}

  get size(): number {
    return this.map.size;
  }

  /** Whether `records` more keys of up to `bytes` in total surely fit. */
  fits(records: number, bytes: number): boolean {
    return this.map.size + records <= this.entriesMax && this.keyBytes + bytes <= this.keyBytesMax;
  }

  put(key: Buffer, offset: number): void {
    // latin1 maps bytes to code units one to one, so binary keys stay distinct.
    const k = key.toString('latin1');
    if (!this.map.has(k)) this.keyBytes += key.length;
    this.map.set(k, offset);
  }

  get(key: Buffer): number | undefined {
    return this.map.get(key.toString('latin1'));
  }
}

export interface FilterContext {
  now: number;
  deleteRetentionMs: number;
  map: OffsetMap;
  /** Records at or above this offset were not mapped (the map filled up): they are kept as they are. */
  mapEndOffset: number;
  /** Whether the batch ending at `lastOffset` is the newest of its producer (kept even when emptied). */
  isLastBatchOfProducer(producerId: number, lastOffset: number): boolean;
  /** Producers with an open transaction in this pass, and whether it kept any data. */
  openTxns: Map<number, boolean>;
}

export interface FilterStats {
  batchesRead: number;
  recordsRead: number;
  recordsKept: number;
  bytesRead: number;
  bytesWritten: number;
  tombstonesRemoved: number;
  /** Latest delete horizon on a batch kept with tombstones or markers (-1: none). */
  latestDeleteHorizonMs: number;
}

export function newFilterStats(): FilterStats {
  return {
    batchesRead: 0,
    recordsRead: 0,
    recordsKept: 0,
    bytesRead: 0,
    bytesWritten: 0,
    tombstonesRemoved: 0,
    latestDeleteHorizonMs: -1,
  };
}

/** Kafka's writeEmptyHeader: the batch's offsets and producer fields with no records, uncompressed. */
export function emptyBatchOf(batch: Buffer): Buffer {
  const h = Buffer.from(batch.subarray(0, BATCH_HEADER_BYTES));
  h.writeInt32BE(BATCH_HEADER_BYTES - LOG_OVERHEAD, BATCH.batchLength);
  h.writeInt16BE(h.readInt16BE(BATCH.attributes) & ~ATTR_COMPRESSION_MASK & ~ATTR_DELETE_HORIZON, BATCH.attributes);
  writeInt64(h, BATCH.baseTimestamp, -1);
  h.writeInt32BE(0, BATCH.recordsCount);
  h.writeUInt32BE(crc32c(h, BATCH.attributes), BATCH.crc);
  return h;
}

function rebuild(b: DecodedBatch, kept: DecodedRecord[], deleteHorizonMs: number | undefined): Buffer {
  return buildBatch({
    baseOffset: b.baseOffset,
    partitionLeaderEpoch: b.partitionLeaderEpoch,
    records: kept.map((r) => ({
      key: r.key,
      value: r.value,
      headers: r.headers,
      timestamp: r.timestamp,
      offsetDelta: r.offset - b.baseOffset,
    })),
    compression: b.compression,
    producerId: b.producerId,
    producerEpoch: b.producerEpoch,
    baseSequence: b.baseSequence,
    timestampType: b.timestampType,
    transactional: b.transactional,
    control: b.control,
    lastOffsetDelta: b.lastOffsetDelta,
    deleteHorizonMs,
    maxTimestamp: b.timestampType === 'LogAppendTime' ? b.maxTimestamp : undefined,
  });
}

/** Filters the whole batches in `buf` (as read from a segment); returns what the cleaned segment gets. */
export function filterBatches(buf: Buffer, ctx: FilterContext, stats: FilterStats): Buffer[] {
  const out: Buffer[] = [];
  const keep = (b: Buffer): void => {
    out.push(b);
    stats.bytesWritten += b.length;
  };
  for (const b of decodeBatches(buf)) {
    const size = LOG_OVERHEAD + b.batchLength;
    const original = buf.subarray(b.position, b.position + size);
    const lastOffset = b.baseOffset + b.lastOffsetDelta;
    const horizon = b.deleteHorizon ? b.baseTimestamp : undefined;
    const lastOfProducer = b.producerId >= 0 && ctx.isLastBatchOfProducer(b.producerId, lastOffset);
    stats.batchesRead++;
    stats.bytesRead += size;
    stats.recordsRead += b.records.length;

    if (b.records.length === 0) {
      // Emptied by an earlier clean: it only ever stays as its producer's last batch.
      if (lastOfProducer) keep(original);
      continue;
    }
    if (b.control) {
      // A marker closes its producer's transaction; once nothing of that transaction is left and the
      // horizon has passed it can go (aborted data is not dropped yet: transactions are a later issue).
      const hadData = ctx.openTxns.get(b.producerId) ?? false;
      ctx.openTxns.delete(b.producerId);
      if (!hadData && horizon !== undefined && ctx.now >= horizon) {
        if (lastOfProducer) keep(emptyBatchOf(original));
        continue;
      }
      stats.recordsKept += b.records.length;
      if (!hadData && horizon === undefined) {
        const h = ctx.now + ctx.deleteRetentionMs;
        stats.latestDeleteHorizonMs = Math.max(stats.latestDeleteHorizonMs, h);
        keep(rebuild(b, b.records, h));
      } else {
        if (horizon !== undefined) stats.latestDeleteHorizonMs = Math.max(stats.latestDeleteHorizonMs, horizon);
        keep(original);
      }
      continue;
    }

    let tombstones = 0;
    const kept = b.records.filter((r) => {
      if (r.offset >= ctx.mapEndOffset) {
        if (r.value === null) tombstones++;
        return true;
      }
      if (r.key === null) return false; // compacted topics refuse keyless records; Kafka's cleaner drops strays
      const newest = ctx.map.get(r.key);
      if (newest !== undefined && r.offset < newest) return false;
      if (r.value === null) {
        if (horizon !== undefined && ctx.now >= horizon) {
          stats.tombstonesRemoved++;
          return false;
        }
        tombstones++;
      }
      return true;
    });
    stats.recordsKept += kept.length;
    if (b.transactional && kept.length > 0) ctx.openTxns.set(b.producerId, true);
    else if (b.transactional && !ctx.openTxns.has(b.producerId)) ctx.openTxns.set(b.producerId, false);

    const needHorizon = tombstones > 0 && horizon === undefined;
    const newHorizon = horizon ?? (needHorizon ? ctx.now + ctx.deleteRetentionMs : undefined);
    if (tombstones > 0 && newHorizon !== undefined) stats.latestDeleteHorizonMs = Math.max(stats.latestDeleteHorizonMs, newHorizon);
    if (kept.length === 0) {
      if (lastOfProducer) keep(emptyBatchOf(original));
    } else if (kept.length === b.records.length && !needHorizon) keep(original);
    else keep(rebuild(b, kept, newHorizon));
  }
  return out;
}
