// The fixed 61-byte header of a record batch (magic 2), read and patched in place. Storage and
// the produce path work on these fields only; records inside a batch are decoded elsewhere
// (records.ts) and only when something must look at them (compaction, the group coordinator).

export const BATCH = {
  baseOffset: 0, // int64, assigned by the broker; outside the CRC
  batchLength: 8, // int32, bytes after this field
  partitionLeaderEpoch: 12, // int32, set by the leader; outside the CRC
  magic: 16, // int8 = 2
  crc: 17, // uint32 CRC-32C over [attributes, end)
  attributes: 21, // int16
  lastOffsetDelta: 23, // int32
  baseTimestamp: 27, // int64
  maxTimestamp: 35, // int64
  producerId: 43, // int64
  producerEpoch: 51, // int16
  baseSequence: 53, // int32
  recordsCount: 57, // int32
  records: 61,
} as const;

/** Bytes of a batch before its batchLength counts: baseOffset + batchLength. */
export const LOG_OVERHEAD = 12;
export const BATCH_HEADER_BYTES = 61;

export const ATTR_COMPRESSION_MASK = 0x07;
export const ATTR_TIMESTAMP_LOG_APPEND = 0x08;
export const ATTR_TRANSACTIONAL = 0x10;
export const ATTR_CONTROL = 0x20;
export const ATTR_DELETE_HORIZON = 0x40;

const TWO_32 = 4294967296;

export function readInt64(b: Buffer, p: number): number {
  return b.readInt32BE(p) * TWO_32 + b.readUInt32BE(p + 4);
}

export function writeInt64(b: Buffer, p: number, v: number): void {
  const hi = Math.floor(v / TWO_32);
  b.writeInt32BE(hi | 0, p);
  b.writeUInt32BE((v - hi * TWO_32) >>> 0, p + 4);
}

/** Total bytes of the batch starting at `p` (LOG_OVERHEAD + batchLength). */
export function batchSize(b: Buffer, p = 0): number {
  return LOG_OVERHEAD + b.readInt32BE(p + BATCH.batchLength);
}

export function baseOffsetOf(b: Buffer, p = 0): number {
  return readInt64(b, p + BATCH.baseOffset);
}

export function lastOffsetOf(b: Buffer, p = 0): number {
  return readInt64(b, p + BATCH.baseOffset) + b.readInt32BE(p + BATCH.lastOffsetDelta);
}

export function maxTimestampOf(b: Buffer, p = 0): number {
  return readInt64(b, p + BATCH.maxTimestamp);
}

export function recordsCountOf(b: Buffer, p = 0): number {
  return b.readInt32BE(p + BATCH.recordsCount);
}
