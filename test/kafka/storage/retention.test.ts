import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { OffsetOutOfRangeError, PartitionLog } from '../../../src/kafka/storage/partitionLog.js';
import { FakeClock, batchesOf, buildBatch, config, tmpDir } from './batches.js';

const one = buildBatch({ count: 2, valueBytes: 30 }).length;

/** 12 batches of 2 records, 4 batches per segment, timestamps 1000 + 100*i. */
function make(root: string, clock: FakeClock, over = {}): PartitionLog {
  const log = PartitionLog.open({
    dir: path.join(root, 't-0'),
    topic: 't',
    partition: 0,
    config: config({ segmentBytes: one * 4, fileDeleteDelayMs: 1000, ...over }),
    now: clock.now,
  });
  for (let i = 0; i < 12; i++) log.append(buildBatch({ count: 2, valueBytes: 30, timestamp: 1000 + 100 * i }), i < 6 ? 0 : 1);
  log.highWatermark = log.logEndOffset;
  return log;
}

test('retention.ms deletes whole old segments by their newest timestamp and moves the log start offset', () => {
  const root = tmpDir();
  try {
    const clock = new FakeClock();
    const log = make(root, clock, { retentionMs: 1000 });
    assert.deepEqual(log.segmentBaseOffsets(), [0, 8, 16]);
    // Segment 0 holds timestamps up to 1301, segment 8 up to 1701.
    assert.equal(log.enforceRetention(2301), 0, 'exactly retention.ms old is kept');
    assert.equal(log.enforceRetention(2302), 1);
    assert.equal(log.logStartOffset, 8);
    assert.deepEqual(log.segmentBaseOffsets(), [8, 16]);
    assert.throws(() => log.read(0, 100, 24, true), OffsetOutOfRangeError);
    // Files are renamed .deleted, then removed after file.delete.delay.ms.
    const dir = path.join(root, 't-0');
    assert.ok(fs.existsSync(path.join(dir, '00000000000000000000.log.deleted')));
    log.deletePendingFiles(clock.t + 1000);
    assert.ok(!fs.existsSync(path.join(dir, '00000000000000000000.log.deleted')));
    // The epoch cache's first entry moves up with the log start offset.
    assert.deepEqual(log.epochs.all, [
      { epoch: 0, startOffset: 8 },
      { epoch: 1, startOffset: 12 },
    ]);
    // Everything expired: the active segment goes too, after a roll to an empty segment at the LEO.
    assert.equal(log.enforceRetention(100_000), 2);
    assert.deepEqual(log.segmentBaseOffsets(), [24]);
    assert.equal(log.logStartOffset, 24);
    assert.equal(log.logEndOffset, 24);
    log.close();
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('retention never deletes past the high watermark; retention.bytes keeps the partition under the limit', () => {
  const root = tmpDir();
  try {
    const clock = new FakeClock();
    const log = make(root, clock, { retentionMs: -1, retentionBytes: one * 5 });
    log.highWatermark = 7;
    assert.equal(log.enforceRetention(0), 0, 'segment 0 ends at 8 > hw 7');
    log.highWatermark = 24;
    assert.equal(log.enforceRetention(0), 1, 'size 12 batches - 4 = 8 > 5, next would leave 4 < 5');
    assert.equal(log.logStartOffset, 8);
    assert.equal(log.size, one * 8);
    log.close();
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('cleanup.policy=compact skips time and size retention', () => {
  const root = tmpDir();
  try {
    const clock = new FakeClock();
    const log = make(root, clock, { retentionMs: 1, retentionBytes: 1, cleanupPolicy: ['compact'] });
    assert.equal(log.enforceRetention(10 ** 9), 0);
    log.close();
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('deleteRecordsBefore moves the start inside a segment and deletes segments wholly below it', () => {
  const root = tmpDir();
  try {
    const clock = new FakeClock();
    const log = make(root, clock);
    assert.equal(log.deleteRecordsBefore(5), 5);
    assert.deepEqual(log.segmentBaseOffsets(), [0, 8, 16]);
    assert.throws(() => log.read(4, 100, 24, true), OffsetOutOfRangeError);
    // The batch holding offset 5 (4-5) is still returned; clients skip the records below.
    assert.equal(batchesOf(log.read(5, 1 << 20, 24, true).records)[0].base, 4);
    assert.equal(log.deleteRecordsBefore(3), 5, 'never moves backwards');
    assert.equal(log.deleteRecordsBefore(17), 17);
    assert.deepEqual(log.segmentBaseOffsets(), [16]);
    log.highWatermark = 18;
    assert.throws(() => log.deleteRecordsBefore(19), OffsetOutOfRangeError);
    log.close();
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('truncateTo drops later segments and batches, indexes and epochs; appends continue from there', () => {
  const root = tmpDir();
  try {
    const clock = new FakeClock();
    const log = make(root, clock, { indexIntervalBytes: 50 });
    log.truncateTo(13);
    // The batch 12-13 holds offset 13, so the log ends at 12 (batch boundary).
    assert.equal(log.logEndOffset, 12);
    assert.deepEqual(log.segmentBaseOffsets(), [0, 8]);
    assert.equal(log.highWatermark, 12);
    assert.deepEqual(log.epochs.all, [{ epoch: 0, startOffset: 0 }]);
    assert.equal(log.maxTimestampAndOffset().timestamp, 1000 + 500 + 1);
    assert.equal(log.append(buildBatch({ count: 3, timestamp: 9000 }), 5).firstOffset, 12);
    const bases = batchesOf(log.read(0, 1 << 20, log.logEndOffset, false).records).map((b) => b.base);
    assert.deepEqual(bases, [0, 2, 4, 6, 8, 10, 12]);
    log.truncateTo(100);
    assert.equal(log.logEndOffset, 15, 'truncating past the end is a no-op');
    log.truncateFullyAndStartAt(50);
    assert.equal(log.logStartOffset, 50);
    assert.equal(log.logEndOffset, 50);
    assert.deepEqual(log.epochs.all, []);
    assert.equal(log.appendAsFollower(buildBatch({ baseOffset: 50, epoch: 6 })).firstOffset, 50);
    log.close();
    const again = PartitionLog.open({
      dir: path.join(root, 't-0'),
      topic: 't',
      partition: 0,
      config: config(),
      now: clock.now,
      cleanShutdown: true,
      logStartOffset: 50,
    });
    assert.equal(again.logStartOffset, 50);
    assert.equal(again.logEndOffset, 51);
    assert.deepEqual(again.segmentBaseOffsets(), [50]);
    again.close();
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('offsetForTimestamp finds the first batch whose max timestamp reaches the target', () => {
  const root = tmpDir();
  try {
    const clock = new FakeClock();
    const log = make(root, clock, { indexIntervalBytes: 1 });
    assert.deepEqual(log.offsetForTimestamp(0), { offset: 0, timestamp: 1001 });
    assert.deepEqual(log.offsetForTimestamp(1001), { offset: 0, timestamp: 1001 });
    assert.deepEqual(log.offsetForTimestamp(1002), { offset: 2, timestamp: 1101 });
    assert.deepEqual(log.offsetForTimestamp(1650), { offset: 14, timestamp: 1701 });
    assert.deepEqual(log.offsetForTimestamp(2101), { offset: 22, timestamp: 2101 });
    assert.equal(log.offsetForTimestamp(2102), null);
    assert.deepEqual(log.maxTimestampAndOffset(), { timestamp: 2101, offset: 23 });
    log.deleteRecordsBefore(3);
    assert.deepEqual(log.offsetForTimestamp(0), { offset: 3, timestamp: 1101 });
    log.close();
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
