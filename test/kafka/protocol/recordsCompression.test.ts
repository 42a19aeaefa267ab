import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { compressSync as snappyRaw } from 'snappy';
import { compressFrameSync } from 'lz4-napi';
import { compress as zstdCompress } from 'zstd-napi';
import { compress, decompress, isXerial, type CompressionCodec } from '../../../src/kafka/protocol/compression.js';
import { RecordError } from '../../../src/kafka/protocol/recordErrors.js';
import { codecInput, LZ4_INDEPENDENT, LZ4_LINKED, XERIAL_SNAPPY, xerialInput, ZSTD_CLI } from './recordsFixtures.js';

const CODECS: CompressionCodec[] = [1, 2, 3, 4];

function assertCorrupt(fn: () => unknown): void {
  assert.throws(fn, (e: unknown) => e instanceof RecordError && e.code === 2);
}

test('every codec round-trips empty, small, large and incompressible inputs', () => {
  const random = Buffer.alloc(200_000);
  for (let i = 0, x = 12345; i < random.length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    random[i] = x >>> 24;
  }
  const inputs = [Buffer.alloc(0), Buffer.from('x'), codecInput(), random];
  for (const codec of CODECS) {
    for (const input of inputs) {
      const c = compress(codec, input);
      assert.deepEqual(decompress(codec, c), input, `codec ${codec}, ${input.length} bytes`);
    }
  }
  assert.equal(compress(0, inputs[2] as Buffer), inputs[2]);
});

test('snappy writes xerial framing with 32 KB chunks and reads both xerial and raw', () => {
  const input = codecInput();
  const x = compress(2, input);
  assert.ok(isXerial(x));
  assert.deepEqual([...x.subarray(0, 16)], [0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0, 0, 0, 0, 1, 0, 0, 0, 1]);
  // 100000 bytes -> 4 chunks of at most 32768 input bytes each.
  let chunks = 0;
  for (let p = 16; p < x.length; p += 4 + x.readInt32BE(p)) chunks++;
  assert.equal(chunks, 4);
  assert.deepEqual(decompress(2, snappyRaw(input)), input);
});

test('snappy decodes a stream written by snappy-java (xerial, several chunks)', () => {
  assert.ok(isXerial(XERIAL_SNAPPY));
  assert.deepEqual(decompress(2, XERIAL_SNAPPY), xerialInput());
});

test('lz4 writes the frame format Kafka expects', () => {
  const f = compress(3, Buffer.from('hello hello hello hello hello'));
  assert.equal(f.readUInt32LE(0), 0x184d2204);
  assert.equal(f[4], 0x60); // version 01, independent blocks, no checksums, no content size
  assert.equal(f[5], 0x40); // 64 KB max block
});

test('lz4 decodes frames written by the reference lz4 tool (linked and independent blocks, checksums)', () => {
  assert.deepEqual(decompress(3, LZ4_LINKED), codecInput());
  assert.deepEqual(decompress(3, LZ4_INDEPENDENT), codecInput());
});

test('zstd decodes a frame written by the zstd tool and concatenated frames', () => {
  assert.deepEqual(decompress(4, ZSTD_CLI), codecInput());
  const two = Buffer.concat([zstdCompress(Buffer.from('ab')), zstdCompress(Buffer.from('cd'))]);
  assert.equal(decompress(4, two).toString(), 'abcd');
});

test('zip bombs are CORRUPT_MESSAGE for every codec', () => {
  const zeros = Buffer.alloc(4 * 1024 * 1024);
  const limit = 1024 * 1024;
  for (const codec of CODECS) {
    const c = compress(codec, zeros);
    assert.ok(c.length < 300_000, `codec ${codec} compresses zeros`);
    assertCorrupt(() => decompress(codec, c, limit));
    // A limit exactly at the size passes.
    assert.equal(decompress(codec, c, zeros.length).length, zeros.length);
  }
  // Raw snappy whose preamble claims 4 GB is refused before inflating.
  assertCorrupt(() => decompress(2, Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0, 0, 0])));
  // lz4 frame from another encoder, zstd without a content size in its header.
  assertCorrupt(() => decompress(3, compressFrameSync(zeros), limit));
  assertCorrupt(() => decompress(1, gzipSync(zeros), limit));
});

test('garbage, truncation and bit flips are CORRUPT_MESSAGE, never a crash', () => {
  const input = codecInput().subarray(0, 5000);
  for (const codec of CODECS) {
    const c = compress(codec, input);
    assertCorrupt(() => decompress(codec, Buffer.from('definitely not compressed data')));
    for (const cut of [1, 5, Math.floor(c.length / 2), c.length - 1]) {
      assertCorrupt(() => decompress(codec, c.subarray(0, cut)));
    }
    for (let i = 0; i < c.length; i += 7) {
      const f = Buffer.from(c);
      f[i] = (f[i] as number) ^ 0x5a;
      try {
        decompress(codec, f);
      } catch (e) {
        assert.ok(e instanceof RecordError && e.code === 2, `codec ${codec} flip at ${i}: ${String(e)}`);
      }
    }
  }
});

test('an unknown codec number is rejected', () => {
  assert.throws(
    () => decompress(5, Buffer.from('x')),
    (e: unknown) => e instanceof RecordError && e.code === 76,
  );
});
