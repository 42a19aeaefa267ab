import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32c } from '@node-rs/crc32';
import {
  CorruptSnapshotError,
  INVALID_PRODUCER_EPOCH,
  INVALID_TXN_STATE,
  OUT_OF_ORDER_SEQUENCE_NUMBER,
  ProducerStateManager,
  TRANSACTION_COORDINATOR_FENCED,
  decodeProducerSnapshot,
  encodeProducerSnapshot,
  incrementSequence,
  snapshotFileName,
  type ProducerBatch,
} from '../../../src/kafka/storage/producerState.js';

const DAY = 86_400_000;
const batch = (over: Partial<ProducerBatch> = {}): ProducerBatch => ({
  producerId: 7,
  producerEpoch: 0,
  baseSequence: 0,
  lastOffsetDelta: 2,
  recordsCount: 3,
  maxTimestamp: 1000,
  transactional: false,
  ...over,
});

/** Checks then records a batch at `offset`, as the log would; returns the check. */
function append(m: ProducerStateManager, b: ProducerBatch, offset: number) {
  const r = m.checkBatch(b, b.maxTimestamp);
  if (r.kind === 'ok') m.recordAppend(b, offset, offset + b.lastOffsetDelta);
  return r;
}

test('sequences: in order ok, gaps and repeats of old batches out of order, duplicates answered with original offsets', () => {
  const m = new ProducerStateManager({ producerIdExpirationMs: DAY });
  assert.equal(append(m, batch({ baseSequence: 0 }), 100).kind, 'ok'); // seq 0..2 at 100..102
  assert.equal(append(m, batch({ baseSequence: 3 }), 103).kind, 'ok'); // seq 3..5 at 103..105
  assert.deepEqual(m.checkBatch(batch({ baseSequence: 0 })), { kind: 'duplicate', firstOffset: 100, lastOffset: 102 });
  assert.deepEqual(m.checkBatch(batch({ baseSequence: 3 })), { kind: 'duplicate', firstOffset: 103, lastOffset: 105 });
  const gap = m.checkBatch(batch({ baseSequence: 7 }));
  assert.equal(gap.kind === 'error' && gap.code, OUT_OF_ORDER_SEQUENCE_NUMBER);
  // Same first sequence but a different range is not a duplicate: out of order.
  const shifted = m.checkBatch(batch({ baseSequence: 3, lastOffsetDelta: 0 }));
  assert.equal(shifted.kind === 'error' && shifted.code, OUT_OF_ORDER_SEQUENCE_NUMBER);
  assert.equal(m.checkBatch(batch({ baseSequence: 6 })).kind, 'ok');
});

test('only the last 5 batches are remembered', () => {
  const m = new ProducerStateManager({ producerIdExpirationMs: DAY });
  for (let i = 0; i < 6; i++) assert.equal(append(m, batch({ baseSequence: i * 3 }), i * 3).kind, 'ok');
  assert.equal(m.lastEntry(7)!.batches.length, 5);
  const first = m.checkBatch(batch({ baseSequence: 0 }));
  assert.equal(first.kind === 'error' && first.code, OUT_OF_ORDER_SEQUENCE_NUMBER);
  assert.deepEqual(m.checkBatch(batch({ baseSequence: 3 })), { kind: 'duplicate', firstOffset: 3, lastOffset: 5 });
});

test('epochs: older fenced, a bump must restart at sequence 0, a producer without state may start anywhere', () => {
  const m = new ProducerStateManager({ producerIdExpirationMs: DAY });
  assert.equal(append(m, batch({ producerEpoch: 3, baseSequence: 42 }), 0).kind, 'ok'); // no state: any sequence
  const old = m.checkBatch(batch({ producerEpoch: 2, baseSequence: 45 }));
  assert.equal(old.kind === 'error' && old.code, INVALID_PRODUCER_EPOCH);
  const bumpMid = m.checkBatch(batch({ producerEpoch: 4, baseSequence: 5 }));
  assert.equal(bumpMid.kind === 'error' && bumpMid.code, OUT_OF_ORDER_SEQUENCE_NUMBER);
  assert.equal(append(m, batch({ producerEpoch: 4, baseSequence: 0 }), 3).kind, 'ok');
  assert.equal(m.lastEntry(7)!.batches.length, 1); // the bump cleared the old epoch's batches
  // A retry from the old epoch is fenced, not a duplicate.
  const stale = m.checkBatch(batch({ producerEpoch: 3, baseSequence: 42 }));
  assert.equal(stale.kind === 'error' && stale.code, INVALID_PRODUCER_EPOCH);
  // Non-idempotent batches are not tracked.
  assert.equal(m.checkBatch(batch({ producerId: -1, producerEpoch: -1, baseSequence: -1 })).kind, 'ok');
});

test('sequence wraps at Int32 max', () => {
  assert.equal(incrementSequence(2147483646, 2), 0);
  const m = new ProducerStateManager({ producerIdExpirationMs: DAY });
  assert.equal(append(m, batch({ baseSequence: 2147483645, lastOffsetDelta: 2 }), 0).kind, 'ok'); // ..2147483647
  assert.equal(m.checkBatch(batch({ baseSequence: 1 })).kind, 'error');
  assert.equal(append(m, batch({ baseSequence: 0, lastOffsetDelta: 0 }), 3).kind, 'ok');
  // A batch that wraps mid-way is found again as a duplicate.
  const w = new ProducerStateManager({ producerIdExpirationMs: DAY });
  assert.equal(append(w, batch({ baseSequence: 2147483647, lastOffsetDelta: 2 }), 10).kind, 'ok'); // seqs MAX, 0, 1
  assert.deepEqual(w.checkBatch(batch({ baseSequence: 2147483647, lastOffsetDelta: 2 })), {
    kind: 'duplicate',
    firstOffset: 10,
    lastOffset: 12,
  });
  assert.equal(w.checkBatch(batch({ baseSequence: 2 })).kind, 'ok');
});

test('transactions: first offset tracked, non-transactional write refused, markers close them', () => {
  const m = new ProducerStateManager({ producerIdExpirationMs: DAY });
  assert.equal(append(m, batch({ transactional: true }), 50).kind, 'ok');
  assert.equal(append(m, batch({ transactional: true, baseSequence: 3 }), 60).kind, 'ok');
  assert.equal(m.lastEntry(7)!.currentTxnFirstOffset, 50);
  assert.equal(m.firstUndecidedOffset(), 50);
  const plain = m.checkBatch(batch({ baseSequence: 6 }));
  assert.equal(plain.kind === 'error' && plain.code, INVALID_TXN_STATE);
  assert.equal(m.checkEndTxnMarker(7, 0, 0).kind, 'ok');
  assert.deepEqual(m.recordEndTxnMarker(7, 0, 5, false, 63, 2000), { producerId: 7, firstOffset: 50, lastOffset: 63, isAborted: false });
  assert.equal(m.firstUndecidedOffset(), undefined);
  const zombie = m.checkEndTxnMarker(7, 0, 4);
  assert.equal(zombie.kind === 'error' && zombie.code, TRANSACTION_COORDINATOR_FENCED);
  const oldEpoch = new ProducerStateManager({ producerIdExpirationMs: DAY });
  append(oldEpoch, batch({ producerEpoch: 2 }), 0);
  const r = oldEpoch.checkEndTxnMarker(7, 1, 0);
  assert.equal(r.kind === 'error' && r.code, INVALID_PRODUCER_EPOCH);
  // A marker with no data here closes nothing.
  assert.equal(m.recordEndTxnMarker(7, 0, 5, true, 64, 2000), undefined);
});

test('expiry after producer.id.expiration.ms, never with an open transaction', () => {
  const m = new ProducerStateManager({ producerIdExpirationMs: 1000 });
  append(m, batch({ producerId: 1, maxTimestamp: 0 }), 0);
  append(m, batch({ producerId: 2, maxTimestamp: 0, transactional: true }), 3);
  append(m, batch({ producerId: 3, maxTimestamp: 500 }), 6);
  assert.equal(m.removeExpiredProducers(999), 0);
  assert.equal(m.removeExpiredProducers(1000), 1);
  assert.equal(m.lastEntry(1), undefined);
  assert.ok(m.lastEntry(2));
  // Lazily: an expired entry is ignored by checkBatch, so any sequence is accepted.
  assert.equal(m.checkBatch(batch({ producerId: 3, baseSequence: 99 }), 1499).kind, 'error');
  assert.equal(m.checkBatch(batch({ producerId: 3, baseSequence: 99 }), 1500).kind, 'ok');
});

test('truncateTo and truncateHead drop batches beyond / before', () => {
  const m = new ProducerStateManager({ producerIdExpirationMs: DAY });
  append(m, batch({ baseSequence: 0 }), 0); // 0..2
  append(m, batch({ baseSequence: 3 }), 3); // 3..5
  append(m, batch({ producerId: 8, baseSequence: 0, transactional: true }), 6); // 6..8
  m.truncateTo(3);
  assert.equal(m.mapEndOffset, 3);
  assert.equal(m.lastEntry(8), undefined);
  assert.deepEqual(
    m.lastEntry(7)!.batches.map((b) => b.lastOffset),
    [2],
  );
  assert.equal(m.checkBatch(batch({ baseSequence: 3 })).kind, 'ok'); // no longer a duplicate
  m.truncateHead(3);
  assert.equal(m.lastEntry(7), undefined);
});

test("snapshot bytes follow Kafka's PRODUCER_SNAPSHOT layout", () => {
  const bytes = encodeProducerSnapshot([
    {
      producerId: 0x0102030405,
      producerEpoch: 3,
      batches: [{ lastSeq: 9, lastOffset: 120, offsetDelta: 4, timestamp: 1700000000000 }],
      coordinatorEpoch: 2,
      lastTimestamp: 1700000000000,
      currentTxnFirstOffset: 116,
    },
  ]);
  assert.equal(bytes.length, 2 + 4 + 4 + 46);
  assert.equal(bytes.readInt16BE(0), 1);
  assert.equal(bytes.readUInt32BE(2), crc32c(bytes.subarray(6)));
  assert.equal(bytes.readInt32BE(6), 1);
  assert.equal(bytes.readBigInt64BE(10), 0x0102030405n);
  assert.equal(bytes.readInt16BE(18), 3);
  assert.equal(bytes.readInt32BE(20), 9);
  assert.equal(bytes.readBigInt64BE(24), 120n);
  assert.equal(bytes.readInt32BE(32), 4);
  assert.equal(bytes.readBigInt64BE(36), 1700000000000n);
  assert.equal(bytes.readInt32BE(44), 2);
  assert.equal(bytes.readBigInt64BE(48), 116n);
  const [e] = decodeProducerSnapshot(bytes);
  assert.deepEqual(e!.batches, [{ lastSeq: 9, lastOffset: 120, offsetDelta: 4, timestamp: 1700000000000 }]);
  const bad = Buffer.from(bytes);
  bad[30] = bad[30]! ^ 1;
  assert.throws(() => decodeProducerSnapshot(bad), CorruptSnapshotError);
  assert.throws(() => decodeProducerSnapshot(bytes.subarray(0, 20)), CorruptSnapshotError);
  // A producer with no batch (marker only) is written with LastOffset -1 and read back without one.
  const none = encodeProducerSnapshot([
    { producerId: 1, producerEpoch: 0, batches: [], coordinatorEpoch: 0, lastTimestamp: 5, currentTxnFirstOffset: -1 },
  ]);
  assert.equal(none.readBigInt64BE(24), -1n);
  assert.deepEqual(decodeProducerSnapshot(none)[0]!.batches, []);
});

test('takeSnapshot / loadLatestSnapshot: round trip, last two kept, corrupt skipped, upToOffset honoured', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pstate-'));
  try {
    const m = new ProducerStateManager({ producerIdExpirationMs: DAY, dir });
    append(m, batch({ baseSequence: 0 }), 0);
    assert.equal(snapshotFileName(3), '00000000000000000003.snapshot');
    m.takeSnapshot(dir, 3);
    append(m, batch({ baseSequence: 3 }), 3);
    m.takeSnapshot(6);
    append(m, batch({ producerId: 9, baseSequence: 0 }), 6);
    m.takeSnapshot(dir, 9);
    assert.deepEqual(readdirSync(dir).sort(), ['00000000000000000006.snapshot', '00000000000000000009.snapshot']);

    const r = new ProducerStateManager({ producerIdExpirationMs: DAY });
    assert.equal(r.loadLatestSnapshot(dir, 100), 9);
    assert.equal(r.mapEndOffset, 9);
    assert.ok(r.lastEntry(9));
    // Only the last batch survives a snapshot: it is still found as a duplicate, and sequences continue.
    assert.deepEqual(r.checkBatch(batch({ baseSequence: 3 })), { kind: 'duplicate', firstOffset: 3, lastOffset: 5 });
    assert.equal(r.checkBatch(batch({ baseSequence: 6 })).kind, 'ok');

    assert.equal(r.loadLatestSnapshot(dir, 8), 6);
    assert.equal(r.lastEntry(9), undefined);

    // A corrupt newest snapshot is deleted and the older one used.
    const newest = join(dir, snapshotFileName(9));
    const bytes = readFileSync(newest);
    bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0xff;
    writeFileSync(newest, bytes);
    assert.equal(r.loadLatestSnapshot(dir, 100), 6);
    assert.equal(existsSync(newest), false);

    // Taking a snapshot below existing ones removes the truncated future.
    m.takeSnapshot(dir, 4);
    assert.deepEqual(readdirSync(dir).sort(), ['00000000000000000004.snapshot']);
    assert.equal(new ProducerStateManager({ producerIdExpirationMs: DAY }).loadLatestSnapshot(dir, 3), undefined);
    assert.equal(new ProducerStateManager({ producerIdExpirationMs: DAY }).loadLatestSnapshot(join(dir, 'nope'), 3), undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('loading drops producers already expired', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pstate-'));
  try {
    const m = new ProducerStateManager({ producerIdExpirationMs: 1000 });
    append(m, batch({ producerId: 1, maxTimestamp: 0 }), 0);
    append(m, batch({ producerId: 2, maxTimestamp: 5000 }), 3);
    m.takeSnapshot(dir, 6);
    const r = new ProducerStateManager({ producerIdExpirationMs: 1000 });
    r.loadLatestSnapshot(dir, 6, 5500);
    assert.equal(r.size, 1);
    assert.ok(r.lastEntry(2));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the number of tracked producers is bounded', () => {
  const m = new ProducerStateManager({ producerIdExpirationMs: DAY, producersMax: 3 });
  for (let pid = 1; pid <= 4; pid++) append(m, batch({ producerId: pid, maxTimestamp: pid }), pid * 10);
  assert.equal(m.size, 3);
  assert.equal(m.lastEntry(1), undefined); // the longest idle went
});
