import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { createRecordsBatch } from '@platformatic/kafka';
import { BATCH } from '../../../src/kafka/protocol/batchHeader.js';
import {
  assignOffsets,
  buildBatch,
  buildEndTxnMarker,
  crc32c,
  decodeBatches,
  isLegacy,
  RecordError,
  stampLogAppendTime,
  validateRecordSet,
  type ValidateOptions,
} from '../../../src/kafka/protocol/records.js';

const require = createRequire(import.meta.url);
// kafkajs's own batch and record encoders (v2 batches, gzip built in).
const { RecordBatch: KjsRecordBatch } = require('kafkajs/src/protocol/recordBatch/v0/index.js') as {
  RecordBatch: (o: object) => Promise<{ buffer: Buffer }>;
};
const KjsRecord = require('kafkajs/src/protocol/recordBatch/record/v0/index.js') as (o: object) => unknown;
const KjsBatchDecoder = require('kafkajs/src/protocol/recordBatch/v0/decoder.js') as (d: unknown) => Promise<{
  records: {
    key: Buffer | null;
    value: Buffer | null;
    headers: Record<string, Buffer>;
    offset: string;
    timestamp: string;
  }[];
}>;
const KjsDecoder = require('kafkajs/src/protocol/decoder.js') as new (b: Buffer) => unknown;
const kjsCrc32c = require('kafkajs/src/protocol/recordBatch/crc32C/index.js') as (b: Buffer) => number;

const NOW = 1_700_000_000_000;
const OPTS: ValidateOptions = {
  maxMessageBytes: 1_048_588,
  allowZstd: true,
  compacted: false,
  timestampType: 'CreateTime',
  now: NOW,
  timestampDifferenceMaxMs: 3_600_000,
};

function code(fn: () => unknown): number {
  try {
    fn();
  } catch (e) {
    if (e instanceof RecordError) return e.code;
    throw e;
  }
  return 0;
}

async function kafkajsBatch(compression: number): Promise<Buffer> {
  const records = [0, 1, 2].map((i) =>
    KjsRecord({
      offsetDelta: i,
      timestampDelta: i * 10,
      key: i === 2 ? null : Buffer.from(`key-${i}`),
      value: Buffer.from(`value-${i}-`.repeat(20)),
      headers: i === 1 ? { trace: Buffer.from('abc'), other: Buffer.from('') } : {},
    }),
  );
  const enc = await KjsRecordBatch({
    compression,
    firstTimestamp: NOW,
    maxTimestamp: NOW + 20,
    lastOffsetDelta: 2,
    records,
  });
  return enc.buffer;
}

test('crc32c matches the standard check value and kafkajs on both sides of the native threshold', () => {
  assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
  const b = Buffer.alloc(5000);
  for (let i = 0; i < b.length; i++) b[i] = (i * 131) & 0xff;
  for (const n of [0, 1, 100, 255, 256, 257, 1024, 5000]) assert.equal(crc32c(b, 0, n), kjsCrc32c(b.subarray(0, n)));
  assert.equal(crc32c(b, 21, 300), kjsCrc32c(b.subarray(21, 300)));
});

test('batches encoded by kafkajs (none and gzip) decode, validate and agree on the CRC', async () => {
  for (const compression of [0, 1]) {
    const buf = await kafkajsBatch(compression);
    assert.equal(buf.readUInt32BE(BATCH.crc), crc32c(buf, BATCH.attributes, buf.length));
    const [b] = decodeBatches(buf);
    assert.ok(b);
    assert.equal(b.compression, compression);
    assert.equal(b.recordsCount, 3);
    assert.equal(b.records.length, 3);
    assert.equal(b.records[0]?.key?.toString(), 'key-0');
    assert.equal(b.records[2]?.key, null);
    assert.equal(b.records[1]?.value?.toString(), 'value-1-'.repeat(20));
    assert.deepEqual(
      b.records.map((r) => r.timestamp),
      [NOW, NOW + 10, NOW + 20],
    );
    assert.deepEqual(
      b.records.map((r) => r.offset),
      [0, 1, 2],
    );
    assert.deepEqual(
      b.records[1]?.headers.map((h) => [h.key, h.value?.toString()]),
      [
        ['trace', 'abc'],
        ['other', ''],
      ],
    );
    const v = validateRecordSet(buf, OPTS);
    assert.equal(v.recordCount, 3);
    assert.equal(v.batches[0]?.compression, compression);
    assert.equal(v.maxTimestamp, NOW + 20);
    // The compacted check needs keys: record 2 has none.
    assert.equal(
      code(() => validateRecordSet(buf, { ...OPTS, compacted: true })),
      87,
    );
  }
});

test('batches encoded by @platformatic/kafka (gzip, snappy raw, lz4 frames) decode', () => {
  for (const compression of ['none', 'gzip', 'snappy', 'lz4'] as const) {
    const buf = createRecordsBatch(
      [0, 1].map((i) => ({
        topic: 't',
        key: Buffer.from(`k${i}`),
        value: Buffer.from('payload '.repeat(30 + i)),
        timestamp: BigInt(NOW + i),
        headers: new Map([[Buffer.from('h'), Buffer.from(`v${i}`)]]),
      })),
      { compression },
    ).buffer;
    const [b] = decodeBatches(buf);
    assert.ok(b, compression);
    assert.equal(b.compression, ['none', 'gzip', 'snappy', 'lz4'].indexOf(compression));
    assert.deepEqual(
      b.records.map((r) => r.value?.length),
      [240, 248],
    );
    assert.deepEqual(
      b.records.map((r) => r.headers[0]?.value?.toString()),
      ['v0', 'v1'],
    );
    assert.equal(validateRecordSet(buf, { ...OPTS, compacted: true }).recordCount, 2);
  }
});

test('our batches decode with kafkajs for every codec kafkajs has, and with us for all codecs', async () => {
  for (const compression of [0, 1, 2, 3, 4] as const) {
    const buf = buildBatch({
      compression,
      now: NOW,
      producerId: 7,
      producerEpoch: 1,
      baseSequence: 0,
      records: [
        {
          key: 'a',
          value: 'x'.repeat(300),
          headers: [
            { key: 'h', value: 'hv' },
            { key: 'n', value: null },
          ],
        },
        { key: null, value: null, timestamp: NOW - 5 },
        { key: 'c', value: '', timestamp: NOW + 3_000_000_000 },
      ],
    });
    const [b] = decodeBatches(buf);
    assert.ok(b);
    assert.equal(b.producerId, 7);
    assert.equal(b.baseSequence, 0);
    assert.equal(b.maxTimestamp, NOW + 3_000_000_000);
    assert.deepEqual(
      b.records.map((r) => r.timestamp),
      [NOW, NOW - 5, NOW + 3_000_000_000],
    );
    assert.equal(b.records[0]?.headers[1]?.value, null);
    assert.equal(b.records[1]?.value, null);
    assert.equal(b.records[2]?.value?.length, 0);
    if (compression <= 1) {
      const kb = await KjsBatchDecoder(new KjsDecoder(buf));
      assert.equal(kb.records.length, 3);
      assert.equal(kb.records[0]?.headers.h?.toString(), 'hv');
      assert.equal(kb.records[2]?.timestamp, String(NOW + 3_000_000_000));
    }
  }
});

test('validation errors carry Kafka codes', () => {
  const good = buildBatch({
    now: NOW,
    records: [
      { key: 'k', value: 'v' },
      { key: 'k2', value: 'v2' },
    ],
  });
  assert.equal(
    code(() => validateRecordSet(good, OPTS)),
    0,
  );
  // Bad CRC anywhere in the covered range.
  const flipped = Buffer.from(good);
  flipped[good.length - 1] = (flipped[good.length - 1] as number) ^ 1;
  assert.equal(
    code(() => validateRecordSet(flipped, OPTS)),
    2,
  );
  // Truncated, and a batchLength below the header size.
  assert.equal(
    code(() => validateRecordSet(good.subarray(0, good.length - 1), OPTS)),
    2,
  );
  assert.equal(
    code(() => validateRecordSet(good.subarray(0, 10), OPTS)),
    2,
  );
  const short = Buffer.from(good);
  short.writeInt32BE(20, BATCH.batchLength);
  assert.equal(
    code(() => validateRecordSet(short, OPTS)),
    2,
  );
  // Unknown magic is corrupt; legacy magic must be converted first.
  const m3 = Buffer.from(good);
  m3.writeInt8(3, BATCH.magic);
  assert.equal(
    code(() => validateRecordSet(m3, OPTS)),
    2,
  );
  // Size above max.message.bytes.
  assert.equal(
    code(() => validateRecordSet(good, { ...OPTS, maxMessageBytes: good.length - 1 })),
    10,
  );
  assert.equal(
    code(() => validateRecordSet(good, { ...OPTS, maxMessageBytes: good.length })),
    0,
  );
  // zstd refused for old produce versions.
  const z = buildBatch({ now: NOW, compression: 4, records: [{ key: 'k', value: 'v' }] });
  assert.equal(
    code(() => validateRecordSet(z, { ...OPTS, allowZstd: false })),
    76,
  );
  assert.equal(
    code(() => validateRecordSet(z, OPTS)),
    0,
  );
  // Timestamps outside now +- the allowed difference.
  const old = buildBatch({ now: NOW - 3_600_001, records: [{ key: 'k', value: 'v' }] });
  const future = buildBatch({
    now: NOW,
    records: [
      { key: 'k', value: 'v' },
      { key: 'k', value: 'v', timestamp: NOW + 3_600_001 },
    ],
  });
  assert.equal(
    code(() => validateRecordSet(old, OPTS)),
    32,
  );
  assert.equal(
    code(() => validateRecordSet(future, OPTS)),
    32,
  );
  assert.equal(
    code(() => validateRecordSet(old, { ...OPTS, timestampType: 'LogAppendTime' })),
    0,
  );
  const lat = buildBatch({ now: NOW, timestampType: 'LogAppendTime', records: [{ key: 'k', value: 'v' }] });
  assert.equal(
    code(() => validateRecordSet(lat, { ...OPTS, timestampType: 'LogAppendTime' })),
    32,
  );
  // Two batches in one produce set, unless allowed.
  const two = Buffer.concat([good, good]);
  assert.equal(
    code(() => validateRecordSet(two, OPTS)),
    87,
  );
  assert.equal(validateRecordSet(two, { ...OPTS, allowMultipleBatches: true }).recordCount, 4);
  // Control batches and sequence-less idempotent batches from clients.
  const marker = buildEndTxnMarker({
    producerId: 1,
    producerEpoch: 0,
    commit: true,
    coordinatorEpoch: 3,
    timestamp: NOW,
  });
  assert.equal(
    code(() => validateRecordSet(marker, OPTS)),
    87,
  );
  const noSeq = buildBatch({ now: NOW, producerId: 5, records: [{ key: 'k', value: 'v' }] });
  assert.equal(
    code(() => validateRecordSet(noSeq, OPTS)),
    87,
  );
  // Non-zero baseOffset from a client.
  assert.equal(
    code(() => validateRecordSet(buildBatch({ now: NOW, baseOffset: 9, records: [{ key: 'k', value: 'v' }] }), OPTS)),
    87,
  );
  assert.equal(
    code(() => validateRecordSet(Buffer.alloc(0), OPTS)),
    87,
  );
});

/** Rewrites header fields and fixes the CRC, to reach checks behind the CRC. */
function patched(buf: Buffer, fn: (b: Buffer) => void): Buffer {
  const b = Buffer.from(buf);
  fn(b);
  b.writeUInt32BE(crc32c(b, BATCH.attributes, b.length), BATCH.crc);
  return b;
}

test('inconsistent counts, huge counts and bad varints are rejected with a valid CRC', () => {
  const good = buildBatch({
    now: NOW,
    records: [
      { key: 'k', value: 'v' },
      { key: 'k2', value: 'v2' },
    ],
  });
  const huge = patched(good, (b) => {
    b.writeInt32BE(0x7fffffff, BATCH.recordsCount);
    b.writeInt32BE(0x7ffffffe, BATCH.lastOffsetDelta);
  });
  assert.equal(
    code(() => validateRecordSet(huge, OPTS)),
    2,
  );
  assert.equal(
    code(() => decodeBatches(huge)),
    2,
  );
  const zstdHuge = patched(buildBatch({ now: NOW, compression: 4, records: [{ key: 'k', value: 'v' }] }), (b) => {
    b.writeInt32BE(0x7fffffff, BATCH.recordsCount);
    b.writeInt32BE(0x7ffffffe, BATCH.lastOffsetDelta);
  });
  assert.equal(
    code(() => validateRecordSet(zstdHuge, OPTS)),
    2,
  );
  assert.equal(
    code(() => decodeBatches(zstdHuge)),
    2,
  );
  const mismatch = patched(good, (b) => b.writeInt32BE(5, BATCH.lastOffsetDelta));
  assert.equal(
    code(() => validateRecordSet(mismatch, OPTS)),
    87,
  );
  const zero = patched(good, (b) => {
    b.writeInt32BE(0, BATCH.recordsCount);
    b.writeInt32BE(-1, BATCH.lastOffsetDelta);
  });
  assert.equal(
    code(() => validateRecordSet(zero, OPTS)),
    87,
  );
  // A record length varint of 0xff.. (never terminating) and one with an over-long key length.
  const badVarint = patched(good, (b) => b.fill(0xff, BATCH.records, BATCH.records + 6));
  assert.equal(
    code(() => decodeBatches(badVarint)),
    2,
  );
  assert.equal(
    code(() => validateRecordSet(badVarint, { ...OPTS, compacted: true })),
    2,
  );
  const badKey = patched(good, (b) => (b[BATCH.records + 4] = 0x7e)); // key length 63 > record
  assert.equal(
    code(() => decodeBatches(badKey)),
    2,
  );
  // One fewer record than declared (count 3 in a 2-record body).
  const missing = patched(good, (b) => {
    b.writeInt32BE(3, BATCH.recordsCount);
    b.writeInt32BE(2, BATCH.lastOffsetDelta);
  });
  assert.equal(
    code(() => decodeBatches(missing)),
    2,
  );
});

test('truncation at every length and random byte flips never escape as anything but RecordError', () => {
  const buf = buildBatch({
    now: NOW,
    compression: 1,
    records: [0, 1, 2].map((i) => ({ key: `k${i}`, value: 'v'.repeat(50), headers: [{ key: 'h', value: 'x' }] })),
  });
  assert.deepEqual(decodeBatches(buf.subarray(0, 0)), []);
  for (let n = 1; n < buf.length; n++)
    assert.equal(
      code(() => decodeBatches(buf.subarray(0, n))),
      2,
      `cut at ${n}`,
    );
  let seed = 7;
  for (let i = 0; i < 2000; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    const f = Buffer.from(buf);
    const at = seed % f.length;
    f[at] = (f[at] as number) ^ (1 + ((seed >>> 8) % 255));
    // Unchecked CRC reaches the record parser with corrupt input.
    for (const verifyCrc of [true, false]) {
      try {
        decodeBatches(f, { verifyCrc });
      } catch (e) {
        assert.ok(e instanceof RecordError, `flip at ${at}: ${String(e)}`);
      }
    }
  }
});

test('decodeBatches can stop at a partial tail as a fetch response may end', () => {
  const a = buildBatch({ now: NOW, baseOffset: 0, records: [{ key: 'k', value: 'v' }] });
  const b = buildBatch({ now: NOW, baseOffset: 1, records: [{ key: 'k', value: 'w' }] });
  const set = Buffer.concat([a, b]).subarray(0, a.length + b.length - 3);
  assert.equal(decodeBatches(set, { allowPartialTail: true }).length, 1);
  assert.equal(
    code(() => decodeBatches(set)),
    2,
  );
});

test('assignOffsets and stampLogAppendTime patch in place and keep the CRC valid', () => {
  const a = buildBatch({
    now: NOW,
    records: [
      { key: 'k', value: 'v' },
      { key: 'k', value: 'v' },
      { key: 'k', value: 'v' },
    ],
  });
  const b = buildBatch({ now: NOW, records: [{ key: 'k', value: 'v' }] });
  const set = Buffer.concat([a, b]);
  const v = validateRecordSet(set, { ...OPTS, allowMultipleBatches: true });
  assert.equal(assignOffsets(set, v.batches, 100, 4), 103);
  for (const info of v.batches) stampLogAppendTime(set, info, NOW + 1);
  const d = decodeBatches(set);
  assert.deepEqual(
    d.map((x) => [x.baseOffset, x.partitionLeaderEpoch]),
    [
      [100, 4],
      [103, 4],
    ],
  );
  assert.deepEqual(
    d.flatMap((x) => x.records.map((r) => r.offset)),
    [100, 101, 102, 103],
  );
  assert.ok(d.every((x) => x.timestampType === 'LogAppendTime' && x.maxTimestamp === NOW + 1));
  assert.ok(d.every((x) => x.records.every((r) => r.timestamp === NOW + 1)));
  assert.equal(v.batches[0]?.maxTimestamp, NOW + 1);
});

test('transaction markers decode as control batches with the marker key and value', () => {
  const m = buildEndTxnMarker({
    producerId: 42,
    producerEpoch: 3,
    commit: false,
    coordinatorEpoch: 9,
    baseOffset: 50,
    timestamp: NOW,
  });
  const [b] = decodeBatches(m);
  assert.ok(b?.control && b.transactional);
  assert.equal(b.producerId, 42);
  assert.equal(b.records[0]?.key?.readInt16BE(2), 0);
  assert.equal(b.records[0]?.value?.readInt32BE(2), 9);
  assert.equal(b.records[0]?.offset, 50);
  assert.equal(isLegacy(m), false);
});
