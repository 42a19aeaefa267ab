// Building magic-2 batches with a correct CRC: used by tests, the group coordinator
// (__consumer_offsets writes), transaction markers and legacy conversion.

import {
  ATTR_CONTROL,
  ATTR_DELETE_HORIZON,
  ATTR_TIMESTAMP_LOG_APPEND,
  ATTR_TRANSACTIONAL,
  BATCH,
  BATCH_HEADER_BYTES,
  LOG_OVERHEAD,
  writeInt64,
} from './batchHeader.js';
import { type CompressionCodec, compress } from './compression.js';
import { crc32c, type TimestampType } from './records.js';

// --- building ------------------------------------------------------------------------------

export interface RecordInput {
  key: Buffer | string | null;
  value: Buffer | string | null;
  headers?: { key: string; value: Buffer | string | null }[];
  timestamp?: number;
  /** Offset relative to the batch's base offset (default: the record's index); the cleaner keeps survivors' offsets. */
  offsetDelta?: number;
}

export interface BuildBatchSpec {
  baseOffset?: number;
  partitionLeaderEpoch?: number;
  records: RecordInput[];
  compression?: CompressionCodec;
  producerId?: number;
  producerEpoch?: number;
  baseSequence?: number;
  timestampType?: TimestampType;
  transactional?: boolean;
  control?: boolean;
  /** Record timestamp when a record has none (default Date.now()). */
  now?: number;
  /** Keeps a compacted batch's last offset (and so its producer's last sequence); default records.length - 1. */
  lastOffsetDelta?: number;
  /** Sets the delete-horizon attribute and stores this time as the base timestamp (Kafka's compaction, KIP-534). */
  deleteHorizonMs?: number;
  /** The batch's max timestamp (LogAppendTime batches keep theirs); default the records' largest. */
  maxTimestamp?: number;
}

const toBuf = (v: Buffer | string | null): Buffer | null => (v === null || Buffer.isBuffer(v) ? v : Buffer.from(v, 'utf8'));

function zigzagSize(v: number): number {
  let u = v >= 0 ? v * 2 : -v * 2 - 1;
  let n = 1;
  while (u >= 128) {
    u = Math.floor(u / 128);
    n++;
  }
  return n;
}

function writeZigzag(buf: Buffer, p: number, v: number): number {
  let u = v >= 0 ? v * 2 : -v * 2 - 1;
  while (u >= 128) {
    buf[p++] = (u % 128) | 0x80;
    u = Math.floor(u / 128);
  }
  buf[p++] = u;
  return p;
}

const bytesSize = (b: Buffer | null): number => (b === null ? 1 : zigzagSize(b.length) + b.length);

function writeBytes(buf: Buffer, p: number, b: Buffer | null): number {
  if (b === null) return writeZigzag(buf, p, -1);
  p = writeZigzag(buf, p, b.length);
  b.copy(buf, p);
  return p + b.length;
}

/** Builds one magic-2 batch with a correct CRC (offset deltas 0..n-1). */
export function buildBatch(spec: BuildBatchSpec): Buffer {
  const now = spec.now ?? Date.now();
  const n = spec.records.length;
  if (n === 0) throw new RangeError('a batch needs at least one record');
  const baseTimestamp = spec.deleteHorizonMs ?? spec.records[0]?.timestamp ?? now;
  let maxTimestamp = spec.records[0]?.timestamp ?? now;
  const encoded = spec.records.map((r, i) => {
    const ts = r.timestamp ?? now;
    if (ts > maxTimestamp) maxTimestamp = ts;
    const delta = r.offsetDelta ?? i;
    const key = toBuf(r.key);
    const value = toBuf(r.value);
    const headers = (r.headers ?? []).map((h) => ({ key: Buffer.from(h.key, 'utf8'), value: toBuf(h.value) }));
    let bodySize = 1 + zigzagSize(ts - baseTimestamp) + zigzagSize(delta) + bytesSize(key) + bytesSize(value);
    bodySize += zigzagSize(headers.length);
    for (const h of headers) bodySize += bytesSize(h.key) + bytesSize(h.value);
    return { ts, delta, key, value, headers, bodySize };
  });
  let total = 0;
  for (const e of encoded) total += zigzagSize(e.bodySize) + e.bodySize;
  const body = Buffer.allocUnsafe(total);
  let q = 0;
  for (const e of encoded) {
    q = writeZigzag(body, q, e.bodySize);
    body[q++] = 0;
    q = writeZigzag(body, q, e.ts - baseTimestamp);
    q = writeZigzag(body, q, e.delta);
    q = writeBytes(body, q, e.key);
    q = writeBytes(body, q, e.value);
    q = writeZigzag(body, q, e.headers.length);
    for (const h of e.headers) {
      q = writeBytes(body, q, h.key);
      q = writeBytes(body, q, h.value);
    }
  }
  const codec = spec.compression ?? 0;
  const payload = compress(codec, body);
  const out = Buffer.allocUnsafe(BATCH_HEADER_BYTES + payload.length);
  let attrs = codec;
  if (spec.timestampType === 'LogAppendTime') attrs |= ATTR_TIMESTAMP_LOG_APPEND;
  if (spec.transactional) attrs |= ATTR_TRANSACTIONAL;
  if (spec.control) attrs |= ATTR_CONTROL;
  if (spec.deleteHorizonMs !== undefined) attrs |= ATTR_DELETE_HORIZON;
  writeInt64(out, BATCH.baseOffset, spec.baseOffset ?? 0);
  out.writeInt32BE(out.length - LOG_OVERHEAD, BATCH.batchLength);
  out.writeInt32BE(spec.partitionLeaderEpoch ?? -1, BATCH.partitionLeaderEpoch);
  out.writeInt8(2, BATCH.magic);
  out.writeInt16BE(attrs, BATCH.attributes);
  out.writeInt32BE(spec.lastOffsetDelta ?? n - 1, BATCH.lastOffsetDelta);
  writeInt64(out, BATCH.baseTimestamp, baseTimestamp);
  writeInt64(out, BATCH.maxTimestamp, spec.maxTimestamp ?? maxTimestamp);
  writeInt64(out, BATCH.producerId, spec.producerId ?? -1);
  out.writeInt16BE(spec.producerEpoch ?? -1, BATCH.producerEpoch);
  out.writeInt32BE(spec.baseSequence ?? -1, BATCH.baseSequence);
  out.writeInt32BE(n, BATCH.recordsCount);
  payload.copy(out, BATCH_HEADER_BYTES);
  out.writeUInt32BE(crc32c(out, BATCH.attributes, out.length), BATCH.crc);
  return out;
}

/** Control record type in a transaction marker's key. */
export const CONTROL_ABORT = 0;
export const CONTROL_COMMIT = 1;

/** A transaction marker batch (control + transactional, one record), as WriteTxnMarkers appends. */
export function buildEndTxnMarker(m: {
  producerId: number;
  producerEpoch: number;
  commit: boolean;
  coordinatorEpoch: number;
  baseOffset?: number;
  partitionLeaderEpoch?: number;
  timestamp?: number;
}): Buffer {
  const key = Buffer.alloc(4);
  key.writeInt16BE(m.commit ? CONTROL_COMMIT : CONTROL_ABORT, 2);
  const value = Buffer.alloc(6);
  value.writeInt32BE(m.coordinatorEpoch, 2);
  return buildBatch({
    baseOffset: m.baseOffset,
    partitionLeaderEpoch: m.partitionLeaderEpoch,
    records: [{ key, value, timestamp: m.timestamp }],
    producerId: m.producerId,
    producerEpoch: m.producerEpoch,
    transactional: true,
    control: true,
  });
}
