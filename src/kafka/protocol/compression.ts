// Compression codecs in the wire forms Kafka uses inside a record batch (after recordsCount):
// gzip (RFC 1952), snappy (xerial snappy-java framing on write; xerial or raw on read), lz4 (the
// LZ4 frame format, KIP-57) and zstd (a standard frame). Every decompression is bounded: input
// that would inflate past `maxBytes` is a CORRUPT_MESSAGE, never an out-of-memory.
//
// All calls are synchronous: batches are at most message.max.bytes (~1 MB), and the native
// libraries finish such inputs faster than a thread-pool round trip would.

import { createRequire } from 'node:module';
import { gunzipSync, gzipSync } from 'node:zlib';
import { corrupt, RecordError, UNSUPPORTED_COMPRESSION_TYPE } from './recordErrors.js';

// The low-level binding gives a streaming decoder whose output we can cap chunk by chunk.
const require = createRequire(import.meta.url);
// The native codecs load on first use: most brokers see few compressed batches, and loading the
// three addons costs start-up time every process pays (docs/PERFORMANCE.md, Kafka cold start).
let lz4Module: typeof import('lz4-napi') | undefined;
const lz4 = (): typeof import('lz4-napi') => {
  lz4Module ??= require('lz4-napi') as typeof import('lz4-napi');
  return lz4Module;
};
let snappyModule: typeof import('snappy') | undefined;
const snappy = (): typeof import('snappy') => {
  snappyModule ??= require('snappy') as typeof import('snappy');
  return snappyModule;
};
let zstdModule: typeof import('zstd-napi') | undefined;
const zstd = (): typeof import('zstd-napi') => {
  zstdModule ??= require('zstd-napi') as typeof import('zstd-napi');
  return zstdModule;
};
let zstdBindingModule: typeof import('zstd-napi/binding.js') | undefined;
const zstdBinding = (): typeof import('zstd-napi/binding.js') => {
  zstdBindingModule ??= require('zstd-napi/binding') as typeof import('zstd-napi/binding.js');
  return zstdBindingModule;
};

export const COMPRESSION_NONE = 0;
export const COMPRESSION_GZIP = 1;
export const COMPRESSION_SNAPPY = 2;
export const COMPRESSION_LZ4 = 3;
export const COMPRESSION_ZSTD = 4;
export type CompressionCodec = 0 | 1 | 2 | 3 | 4;

export const CODEC_NAMES = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;

/** Default cap on the decompressed size of one batch's records (a zip bomb becomes CORRUPT_MESSAGE). */
export const DECOMPRESSED_BYTES_MAX = 64 * 1024 * 1024;

/** snappy-java's stream header: magic, then int32 version 1 and int32 minimum compatible version 1. */
const XERIAL_HEADER = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00, 0, 0, 0, 1, 0, 0, 0, 1]);
const XERIAL_MAGIC_BYTES = 8;
/** snappy-java's default block size; Kafka's producer writes chunks of this many input bytes. */
const XERIAL_BLOCK_BYTES = 32 * 1024;

const LZ4_FRAME_MAGIC = 0x184d2204;
const LZ4_BLOCK_MAX_BYTES = [0, 0, 0, 0, 64 * 1024, 256 * 1024, 1024 * 1024, 4 * 1024 * 1024];
const ZSTD_OUT_CHUNK_BYTES = 128 * 1024;

export function isCodec(n: number): n is CompressionCodec {
  return n >= 0 && n <= 4 && Number.isInteger(n);
}

export function compress(codec: CompressionCodec, data: Buffer): Buffer {
  switch (codec) {
    case COMPRESSION_NONE:
      return data;
    case COMPRESSION_GZIP:
      return gzipSync(data);
    case COMPRESSION_SNAPPY:
      return snappyXerialCompress(data);
    case COMPRESSION_LZ4:
      // lz4-napi writes FLG 0x60 (v01, independent blocks, no checksums) and BD 0x40 (64 KB
      // blocks), the same frame descriptor as Kafka's own KafkaLZ4BlockOutputStream.
      return lz4().compressFrameSync(data);
    case COMPRESSION_ZSTD:
      return zstd().compress(data);
  }
}

/** Decompress `data`; throws RecordError CORRUPT_MESSAGE on bad input or output above `maxBytes`. */
export function decompress(codec: number, data: Buffer, maxBytes = DECOMPRESSED_BYTES_MAX): Buffer {
  if (codec === COMPRESSION_NONE) return data;
  try {
    switch (codec) {
      case COMPRESSION_GZIP:
        return gunzipSync(data, { maxOutputLength: maxBytes });
      case COMPRESSION_SNAPPY:
        return snappyDecompress(data, maxBytes);
      case COMPRESSION_LZ4:
        return lz4Decompress(data, maxBytes);
      case COMPRESSION_ZSTD:
        return zstdDecompress(data, maxBytes);
    }
  } catch (e) {
    if (e instanceof RecordError) throw e;
    if (e instanceof RangeError) throw corrupt(`${CODEC_NAMES[codec]} payload inflates past ${maxBytes} bytes`);
    throw corrupt(`invalid ${CODEC_NAMES[codec]} payload: ${(e as Error).message}`);
  }
  throw new RecordError(UNSUPPORTED_COMPRESSION_TYPE, `unknown compression codec ${codec}`);
}

// --- snappy --------------------------------------------------------------------------------

export function snappyXerialCompress(data: Buffer): Buffer {
  const parts: Buffer[] = [XERIAL_HEADER];
  for (let p = 0; p < data.length || p === 0; p += XERIAL_BLOCK_BYTES) {
    const block = snappy().compressSync(data.subarray(p, p + XERIAL_BLOCK_BYTES));
    const len = Buffer.allocUnsafe(4);
    len.writeInt32BE(block.length, 0);
    parts.push(len, block);
    if (data.length === 0) break;
  }
  return Buffer.concat(parts);
}

export function isXerial(data: Buffer): boolean {
  return data.length >= XERIAL_MAGIC_BYTES && data.compare(XERIAL_HEADER, 0, XERIAL_MAGIC_BYTES, 0, XERIAL_MAGIC_BYTES) === 0;
}

function snappyDecompress(data: Buffer, maxBytes: number): Buffer {
  if (!isXerial(data)) return snappyRawBounded(data, maxBytes);
  if (data.length < XERIAL_HEADER.length) throw corrupt('truncated xerial snappy header');
  const out: Buffer[] = [];
  let total = 0;
  let p = XERIAL_HEADER.length;
  while (p < data.length) {
    if (p + 4 > data.length) throw corrupt('truncated xerial snappy chunk length');
    const n = data.readInt32BE(p);
    p += 4;
    if (n < 0 || p + n > data.length) throw corrupt('truncated xerial snappy chunk');
    const chunk = snappyRawBounded(data.subarray(p, p + n), maxBytes - total);
    total += chunk.length;
    out.push(chunk);
    p += n;
  }
  return out.length === 1 ? (out[0] as Buffer) : Buffer.concat(out, total);
}

/** Raw snappy starts with its uncompressed length as a uvarint: check it before inflating. */
function snappyRawBounded(data: Buffer, maxBytes: number): Buffer {
  let len = 0;
  for (let i = 0, shift = 0; ; i++, shift += 7) {
    if (i >= data.length || i >= 5) throw corrupt('invalid snappy length preamble');
    const b = data[i] as number;
    len += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) break;
  }
  if (len > maxBytes) throw corrupt(`snappy payload inflates past ${maxBytes} bytes`);
  return snappy().uncompressSync(data, { asBuffer: true }) as Buffer;
}

// --- lz4 -----------------------------------------------------------------------------------

/**
 * Walks the frame structure (without inflating) to bound the output by the sum of the block
 * maximums, then lets lz4-napi decode the frame (it checks the descriptor checksum and any
 * block/content checksums).
 */
function lz4Decompress(data: Buffer, maxBytes: number): Buffer {
  let bound = 0;
  let p = 0;
  while (p < data.length) {
    if (p + 4 > data.length) throw corrupt('truncated lz4 frame magic');
    const magic = data.readUInt32LE(p);
    if ((magic & 0xfffffff0) === 0x184d2a50) {
      // Skippable frame: magic, uint32 size, payload.
      if (p + 8 > data.length) throw corrupt('truncated lz4 skippable frame');
      p += 8 + data.readUInt32LE(p + 4);
      continue;
    }
    if (magic !== LZ4_FRAME_MAGIC) throw corrupt('not an lz4 frame');
    if (p + 7 > data.length) throw corrupt('truncated lz4 frame descriptor');
    const flg = data[p + 4] as number;
    const bd = data[p + 5] as number;
    if (flg >> 6 !== 1) throw corrupt('unsupported lz4 frame version');
    const blockChecksum = (flg & 0x10) !== 0;
    const contentSize = (flg & 0x08) !== 0;
    const contentChecksum = (flg & 0x04) !== 0;
    const dictId = (flg & 0x01) !== 0;
    const blockMax = LZ4_BLOCK_MAX_BYTES[(bd >> 4) & 7] ?? 0;
    if (blockMax === 0) throw corrupt('invalid lz4 block size');
    p += 6 + (contentSize ? 8 : 0) + (dictId ? 4 : 0) + 1;
    for (;;) {
      if (p + 4 > data.length) throw corrupt('truncated lz4 block');
      const word = data.readUInt32LE(p);
      p += 4;
      if (word === 0) break;
      const size = word & 0x7fffffff;
      if (size > blockMax) throw corrupt('lz4 block larger than its frame maximum');
      bound += word & 0x80000000 ? size : blockMax;
      if (bound > maxBytes) throw corrupt(`lz4 payload may inflate past ${maxBytes} bytes`);
      p += size + (blockChecksum ? 4 : 0);
    }
    p += contentChecksum ? 4 : 0;
  }
  if (p > data.length) throw corrupt('truncated lz4 frame');
  return lz4().decompressFrameSync(data);
}

// --- zstd ----------------------------------------------------------------------------------

let zstdCtx: InstanceType<ReturnType<typeof zstdBinding>['DCtx']> | undefined;

function zstdDecompress(data: Buffer, maxBytes: number): Buffer {
  zstdCtx ??= new (zstdBinding().DCtx)();
  const ctx = zstdCtx;
  // Reset so an earlier failure cannot leave a half-read frame behind.
  ctx.reset(zstdBinding().ResetDirective.sessionOnly);
  const out: Buffer[] = [];
  let total = 0;
  let src = data;
  let lastRet = 0;
  for (;;) {
    const room = Math.min(ZSTD_OUT_CHUNK_BYTES, maxBytes - total + 1);
    const dst = Buffer.allocUnsafe(room);
    const [ret, produced, consumed] = ctx.decompressStream(dst, src);
    lastRet = ret;
    src = src.subarray(consumed);
    if (produced > 0) {
      total += produced;
      if (total > maxBytes) throw corrupt(`zstd payload inflates past ${maxBytes} bytes`);
      out.push(dst.subarray(0, produced));
    }
    // ret === 0: a frame ended and its output is flushed; more frames may follow.
    if (src.length === 0 && (ret === 0 || produced < room)) break;
    if (consumed === 0 && produced === 0) throw corrupt('zstd decoder made no progress');
  }
  if (lastRet !== 0) throw corrupt('truncated zstd frame');
  return out.length === 1 ? (out[0] as Buffer) : Buffer.concat(out, total);
}
