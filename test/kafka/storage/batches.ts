// Hand-built record batches (magic 2) for the storage tests: 61-byte header, plain records, CRC-32C.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { crc32c } from '@node-rs/crc32';
import { writeInt64 } from '../../../src/kafka/protocol/batchHeader.js';
import type { LogConfig } from '../../../src/kafka/storage/logConfig.js';
import { DEFAULT_LOG_CONFIG } from '../../../src/kafka/storage/logConfig.js';

function varint(v: number): number[] {
  let z = (v << 1) ^ (v >> 31);
  z >>>= 0;
  const out: number[] = [];
  while (z >= 0x80) {
    out.push((z & 0x7f) | 0x80);
    z >>>= 7;
  }
  out.push(z);
  return out;
}

export interface BatchSpec {
  baseOffset?: number;
  count?: number;
  timestamp?: number; // first record's timestamp; record i gets timestamp + i
  maxTimestamp?: number; // overrides the computed max
  epoch?: number;
  valueBytes?: number; // per record
}

export function buildBatch(spec: BatchSpec = {}): Buffer {
  const count = spec.count ?? 1;
  const ts = spec.timestamp ?? 1000;
  const valueBytes = spec.valueBytes ?? 10;
  const recs: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const value = Buffer.alloc(valueBytes, 0x61 + (i % 26));
    const body = Buffer.from([0, ...varint(i), ...varint(i), ...varint(-1), ...varint(valueBytes)]);
    const inner = Buffer.concat([body, value, Buffer.from(varint(0))]);
    recs.push(Buffer.concat([Buffer.from(varint(inner.length)), inner]));
  }
  const records = Buffer.concat(recs);
  const b = Buffer.alloc(61 + records.length);
  writeInt64(b, 0, spec.baseOffset ?? 0);
  b.writeInt32BE(b.length - 12, 8);
  b.writeInt32BE(spec.epoch ?? -1, 12);
  b.writeInt8(2, 16);
  b.writeInt16BE(0, 21);
  b.writeInt32BE(count - 1, 23);
  writeInt64(b, 27, ts);
  writeInt64(b, 35, spec.maxTimestamp ?? ts + count - 1);
  writeInt64(b, 43, -1);
  b.writeInt16BE(-1, 51);
  b.writeInt32BE(-1, 53);
  b.writeInt32BE(count, 57);
  records.copy(b, 61);
  b.writeUInt32BE(crc32c(b.subarray(21)), 17);
  return b;
}

/** Splits a buffer of concatenated batches into [baseOffset, lastOffset, size] triples. */
export function batchesOf(bufs: Buffer[]): { base: number; last: number; size: number }[] {
  const out: { base: number; last: number; size: number }[] = [];
  for (const buf of bufs) {
    let p = 0;
    while (p < buf.length) {
      const size = 12 + buf.readInt32BE(p + 8);
      const base = Number(buf.readBigInt64BE(p));
      out.push({ base, last: base + buf.readInt32BE(p + 23), size });
      p += size;
    }
  }
  return out;
}

export function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'cg-storage-'));
}

export function config(over: Partial<LogConfig> = {}): LogConfig {
  return { ...DEFAULT_LOG_CONFIG, segmentIndexBytes: 64 * 1024, ...over };
}

export class FakeClock {
  constructor(public t = 1_000_000) {}
  now = (): number => this.t;
}
