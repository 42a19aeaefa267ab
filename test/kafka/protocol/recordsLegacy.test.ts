import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compress } from '../../../src/kafka/protocol/compression.js';
import { buildLegacyMessageSet, convertLegacyToV2, decodeBatches, isLegacy, RecordError } from '../../../src/kafka/protocol/records.js';

const NOW = 1_700_000_000_000;
const k = (s: string): Buffer => Buffer.from(s);

function code(fn: () => unknown): number {
  try {
    fn();
  } catch (e) {
    if (e instanceof RecordError) return e.code;
    throw e;
  }
  return 0;
}

test('uncompressed magic 0 and magic 1 sets convert to one v2 batch', () => {
  const v0 = buildLegacyMessageSet(0, [
    { key: k('a'), value: k('1') },
    { key: null, value: null },
  ]);
  assert.ok(isLegacy(v0));
  const [b0] = decodeBatches(convertLegacyToV2(v0));
  assert.deepEqual(
    b0?.records.map((r) => [r.key?.toString() ?? null, r.value?.toString() ?? null, r.timestamp]),
    [
      ['a', '1', -1],
      [null, null, -1],
    ],
  );
  const v1 = buildLegacyMessageSet(1, [
    { key: k('a'), value: k('1'), timestamp: NOW },
    { key: k('b'), value: k('2'), timestamp: NOW + 7 },
  ]);
  const [b1] = decodeBatches(convertLegacyToV2(v1));
  assert.equal(b1?.magic, 2);
  assert.equal(b1?.compression, 0);
  assert.deepEqual(
    b1?.records.map((r) => [r.offset, r.timestamp]),
    [
      [0, NOW],
      [1, NOW + 7],
    ],
  );
});

test('compressed wrappers (gzip, snappy, lz4) unpack; LogAppendTime wrappers lend their timestamp', () => {
  for (const codec of [1, 2, 3] as const) {
    const inner = buildLegacyMessageSet(1, [
      { key: k('x'), value: k('one'), timestamp: NOW },
      { key: k('y'), value: k('two'), timestamp: NOW + 1 },
    ]);
    const wrapper = buildLegacyMessageSet(1, [
      { key: null, value: compress(codec, inner), timestamp: NOW + 99, attributes: codec | 0x08, offset: 1 },
    ]);
    const [b] = decodeBatches(convertLegacyToV2(wrapper));
    assert.equal(b?.compression, codec);
    assert.deepEqual(
      b?.records.map((r) => [r.value?.toString(), r.timestamp]),
      [
        ['one', NOW + 99],
        ['two', NOW + 99],
      ],
    );
  }
});

test('bad legacy sets are rejected with Kafka codes', () => {
  const good = buildLegacyMessageSet(1, [{ key: k('a'), value: k('1'), timestamp: NOW }]);
  const badCrc = Buffer.from(good);
  badCrc[badCrc.length - 1] = (badCrc[badCrc.length - 1] as number) ^ 1;
  assert.equal(
    code(() => convertLegacyToV2(badCrc)),
    2,
  );
  assert.equal(
    code(() => convertLegacyToV2(good.subarray(0, good.length - 2))),
    2,
  );
  const mixed = Buffer.concat([good, buildLegacyMessageSet(0, [{ key: null, value: k('v') }])]);
  assert.equal(
    code(() => convertLegacyToV2(mixed)),
    87,
  );
  const nestedInner = buildLegacyMessageSet(1, [{ key: null, value: k('zz'), attributes: 1, timestamp: NOW }]);
  const nested = buildLegacyMessageSet(1, [{ key: null, value: compress(1, nestedInner), attributes: 1, timestamp: NOW }]);
  assert.equal(
    code(() => convertLegacyToV2(nested)),
    87,
  );
  const bomb = buildLegacyMessageSet(1, [{ key: null, value: compress(1, Buffer.alloc(2_000_000)), attributes: 1 }]);
  assert.equal(
    code(() => convertLegacyToV2(bomb, 1_000_000)),
    2,
  );
  for (let n = 1; n < good.length; n++)
    assert.equal(
      code(() => convertLegacyToV2(good.subarray(0, n))),
      2,
    );
});
