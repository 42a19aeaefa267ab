// One magic-2 record batch from the shipper's records, written straight into one buffer (pure).
// protocol/recordsBuild.ts builds batches for the broker's own writes from generic inputs (an
// object per record, headers, per-record timestamps); the shipper's records are all alike: bytes
// key and value, no headers, one timestamp for the batch. So the sizes are summed in one pass and
// each record is written in a second one, with no object per record: this is the part of
// producing that runs per line.

import { BATCH, BATCH_HEADER_BYTES, LOG_OVERHEAD, writeInt64 } from '../../../kafka/protocol/batchHeader.js';
import { type CompressionCodec, compress } from '../../../kafka/protocol/compression.js';
import { crc32c } from '../../../kafka/protocol/records.js';

export interface BatchRecord {
  key: Buffer;
  /** Written as UTF-8. */
  value: string;
  /** UTF-8 bytes of value. */
  valueBytes: number;
}

/** The idempotent producer's stamp on a batch. */
export interface BatchProducer {
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
}

/** Batches up to this size are built in one reused buffer before compression (larger ones get their own). */
const scratchBytesMax = 2 * 1024 * 1024;
let scratchBuffer = Buffer.alloc(0);

function scratch(bytes: number): Buffer {
  if (bytes > scratchBytesMax) return Buffer.allocUnsafe(bytes);
  if (scratchBuffer.length < bytes) scratchBuffer = Buffer.allocUnsafe(Math.min(scratchBytesMax, Math.max(bytes, 64 * 1024)));
  return scratchBuffer.subarray(0, bytes);
}

/** Bytes of a zigzag varint holding a non-negative n below 2^30. */
function varintBytes(n: number): number {
  const u = n * 2;
  return u < 0x80 ? 1 : u < 0x4000 ? 2 : u < 0x200000 ? 3 : u < 0x10000000 ? 4 : 5;
}

/** Writes a non-negative n below 2^30 as a zigzag varint; returns the position after it. */
function writeVarint(buf: Buffer, p: number, n: number): number {
  let u = n * 2;
  while (u >= 0x80) {
    buf[p++] = (u & 0x7f) | 0x80;
    u >>>= 7;
  }
  buf[p++] = u;
  return p;
}

/** A record's bytes after its length: attributes, timestamp delta (0), offset delta, key, value, header count. */
function recordBodyBytes(r: BatchRecord, offsetDelta: number): number {
  return 3 + varintBytes(offsetDelta) + varintBytes(r.key.length) + r.key.length + varintBytes(r.valueBytes) + r.valueBytes;
}

/** Bytes the records [start, end) take in a batch before compression (what a broker's size limits see with none). */
export function recordsBytes(records: readonly BatchRecord[], start: number, end: number): number {
  let total = 0;
  for (let i = start; i < end; i++) {
    const body = recordBodyBytes(records[i]!, i - start);
    total += varintBytes(body) + body;
  }
  return total;
}

function writeRecords(out: Buffer, p: number, records: readonly BatchRecord[], start: number, end: number): number {
  for (let i = start; i < end; i++) {
    const r = records[i]!;
    const delta = i - start;
    p = writeVarint(out, p, recordBodyBytes(r, delta));
    out[p++] = 0; // attributes
    out[p++] = 0; // timestamp delta: every record has the batch's timestamp
    p = writeVarint(out, p, delta);
    p = writeVarint(out, p, r.key.length);
    p += r.key.copy(out, p);
    p = writeVarint(out, p, r.valueBytes);
    p += out.write(r.value, p, r.valueBytes, 'utf8');
    out[p++] = 0; // no headers
  }
  return p;
}

/**
 * The batch holding records [start, end) (at least one), stamped for the idempotent producer,
 * compressed with `codec`, CRC-32C set. All records carry `timestampMs` (CreateTime).
 */
export function encodeRecordBatch(
  records: readonly BatchRecord[],
  start: number,
  end: number,
  codec: CompressionCodec,
  timestampMs: number,
  producer: BatchProducer,
): Buffer {
  const count = end - start;
  if (count < 1) throw new RangeError('a batch needs at least one record');
  const bodyBytes = recordsBytes(records, start, end);
  let out: Buffer;
  if (codec === 0) {
    out = Buffer.allocUnsafe(BATCH_HEADER_BYTES + bodyBytes);
    writeRecords(out, BATCH_HEADER_BYTES, records, start, end);
  } else {
    const body = scratch(bodyBytes);
    writeRecords(body, 0, records, start, end);
    const payload = compress(codec, body);
    out = Buffer.allocUnsafe(BATCH_HEADER_BYTES + payload.length);
    payload.copy(out, BATCH_HEADER_BYTES);
  }
  writeInt64(out, BATCH.baseOffset, 0);
  out.writeInt32BE(out.length - LOG_OVERHEAD, BATCH.batchLength);
  out.writeInt32BE(-1, BATCH.partitionLeaderEpoch);
  out.writeInt8(2, BATCH.magic);
  out.writeInt16BE(codec, BATCH.attributes);
  out.writeInt32BE(count - 1, BATCH.lastOffsetDelta);
  writeInt64(out, BATCH.baseTimestamp, timestampMs);
  writeInt64(out, BATCH.maxTimestamp, timestampMs);
  writeInt64(out, BATCH.producerId, producer.producerId);
  out.writeInt16BE(producer.producerEpoch, BATCH.producerEpoch);
  out.writeInt32BE(producer.baseSequence, BATCH.baseSequence);
  out.writeInt32BE(count, BATCH.recordsCount);
  out.writeUInt32BE(crc32c(out, BATCH.attributes, out.length), BATCH.crc);
  return out;
}
