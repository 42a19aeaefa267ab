// Legacy message sets (magic 0 and 1, Produce v0-2), converted to one equivalent magic-2 batch so
// that storage only ever holds magic 2. Layout per entry: offset int64, size int32, then the
// message: crc uint32 (CRC-32, not C, over magic..end), magic int8, attributes int8,
// [timestamp int64 for magic 1], key bytes(int32), value bytes(int32). A compressed entry is a
// wrapper whose value holds the inner message set (one level deep).

import { crc32 } from '@node-rs/crc32';
import { type CompressionCodec, DECOMPRESSED_BYTES_MAX, decompress } from './compression.js';
import { buildBatch, NO_TIMESTAMP, type RecordInput } from './records.js';
import { corrupt, INVALID_RECORD, RecordError } from './recordErrors.js';

const ENTRY_OVERHEAD = 12; // offset + size
const MESSAGE_V0_MIN_BYTES = 14; // crc, magic, attributes, key length, value length
const MESSAGE_V1_MIN_BYTES = 22; // + timestamp
const ATTR_LEGACY_LOG_APPEND_TIME = 0x08;
/** Bound on the records one conversion may produce (each legacy message is at least 26 bytes). */
export const LEGACY_RECORDS_MAX = 1_000_000;

export interface LegacyMessage {
  magic: number;
  attributes: number;
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
}

/** Parses the entries of a legacy message set; throws CORRUPT_MESSAGE on bad framing or CRC. */
export function parseLegacyMessages(buf: Buffer): LegacyMessage[] {
  const out: LegacyMessage[] = [];
  for (let p = 0; p < buf.length; ) {
    if (buf.length - p < ENTRY_OVERHEAD) throw corrupt(`truncated legacy entry at ${p}`);
    const size = buf.readInt32BE(p + 8);
    const start = p + ENTRY_OVERHEAD;
    if (size < MESSAGE_V0_MIN_BYTES || start + size > buf.length) throw corrupt(`bad legacy message size ${size} at ${p}`);
    const end = start + size;
    const magic = buf.readInt8(start + 4);
    if (magic !== 0 && magic !== 1) throw corrupt(`legacy message magic ${magic} at ${p}`);
    if (magic === 1 && size < MESSAGE_V1_MIN_BYTES) throw corrupt(`bad legacy message size ${size} at ${p}`);
    const stored = buf.readUInt32BE(start);
    if (crc32(buf.subarray(start + 4, end)) >>> 0 !== stored) throw corrupt(`legacy message CRC mismatch at ${p}`);
    const attributes = buf.readInt8(start + 5);
    let q = start + 6;
    let timestamp = NO_TIMESTAMP;
    if (magic === 1) {
      timestamp = buf.readInt32BE(q) * 4294967296 + buf.readUInt32BE(q + 4);
      q += 8;
    }
    const readBytes = (): Buffer | null => {
      if (q + 4 > end) throw corrupt('truncated legacy key/value length');
      const n = buf.readInt32BE(q);
      q += 4;
      if (n === -1) return null;
      if (n < -1 || q + n > end) throw corrupt(`bad legacy key/value length ${n}`);
      const b = buf.subarray(q, q + n);
      q += n;
      return b;
    };
    const key = readBytes();
    const value = readBytes();
    if (q !== end) throw corrupt(`legacy message at ${p} has ${end - q} trailing bytes`);
    if (out.length >= LEGACY_RECORDS_MAX) throw corrupt('too many legacy messages');
    out.push({ magic, attributes, timestamp, key, value });
    p = end;
  }
  return out;
}

/**
 * Converts a legacy message set to one magic-2 batch (baseOffset 0, no producer id), keeping the
 * first compressed wrapper's codec. Timestamps: magic 0 has none (NO_TIMESTAMP); inner messages of
 * a LogAppendTime wrapper take the wrapper's timestamp.
 */
export function convertLegacyToV2(records: Buffer, maxDecompressedBytes = DECOMPRESSED_BYTES_MAX): Buffer {
  const outer = parseLegacyMessages(records);
  if (outer.length === 0) throw new RecordError(INVALID_RECORD, 'legacy record set has no messages');
  const firstMagic = outer[0]?.magic;
  const out: RecordInput[] = [];
  let codec: CompressionCodec = 0;
  let budget = maxDecompressedBytes;
  for (const m of outer) {
    if (m.magic !== firstMagic) throw new RecordError(INVALID_RECORD, 'legacy messages with mixed magic');
    const c = m.attributes & 0x07;
    if (c === 0) {
      out.push({ key: m.key, value: m.value, timestamp: m.timestamp });
      continue;
    }
    if (c > 3) throw corrupt(`legacy message with codec ${c}`); // zstd never existed for magic < 2
    if (m.value === null) throw corrupt('compressed legacy wrapper without a value');
    if (codec === 0) codec = c as CompressionCodec;
    const inner = decompress(c, m.value, budget);
    budget -= inner.length;
    const logAppend = m.magic === 1 && (m.attributes & ATTR_LEGACY_LOG_APPEND_TIME) !== 0;
    for (const im of parseLegacyMessages(inner)) {
      if ((im.attributes & 0x07) !== 0) throw new RecordError(INVALID_RECORD, 'nested compressed legacy message');
      if (im.magic !== m.magic) throw new RecordError(INVALID_RECORD, 'inner legacy magic differs from its wrapper');
      out.push({ key: im.key, value: im.value, timestamp: logAppend ? m.timestamp : im.timestamp });
      if (out.length > LEGACY_RECORDS_MAX) throw corrupt('too many legacy messages');
    }
  }
  if (out.length === 0) throw new RecordError(INVALID_RECORD, 'legacy record set has no records');
  return buildBatch({ records: out, compression: codec, now: NO_TIMESTAMP });
}

// --- building (tests and tools) --------------------------------------------------------------

export interface LegacyMessageInput {
  key: Buffer | null;
  value: Buffer | null;
  timestamp?: number;
  attributes?: number;
  offset?: number;
}

/** Encodes a legacy message set (magic 0 or 1) with correct CRC-32s. */
export function buildLegacyMessageSet(magic: 0 | 1, messages: LegacyMessageInput[]): Buffer {
  const parts: Buffer[] = [];
  messages.forEach((m, i) => {
    const kl = m.key === null ? 0 : m.key.length;
    const vl = m.value === null ? 0 : m.value.length;
    const size = (magic === 1 ? MESSAGE_V1_MIN_BYTES : MESSAGE_V0_MIN_BYTES) + kl + vl;
    const b = Buffer.alloc(ENTRY_OVERHEAD + size);
    const off = m.offset ?? i;
    b.writeInt32BE(Math.floor(off / 4294967296), 0);
    b.writeUInt32BE(off >>> 0, 4);
    b.writeInt32BE(size, 8);
    let q = ENTRY_OVERHEAD + 4;
    b.writeInt8(magic, q++);
    b.writeInt8(m.attributes ?? 0, q++);
    if (magic === 1) {
      const ts = m.timestamp ?? NO_TIMESTAMP;
      b.writeInt32BE(Math.floor(ts / 4294967296), q);
      b.writeUInt32BE(ts >>> 0, q + 4);
      q += 8;
    }
    for (const f of [m.key, m.value]) {
      b.writeInt32BE(f === null ? -1 : f.length, q);
      q += 4;
      if (f !== null) q += f.copy(b, q);
    }
    b.writeUInt32BE(crc32(b.subarray(ENTRY_OVERHEAD + 4)) >>> 0, ENTRY_OVERHEAD);
    parts.push(b);
  });
  return Buffer.concat(parts);
}
