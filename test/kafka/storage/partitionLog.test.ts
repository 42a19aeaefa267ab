import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { OffsetOutOfRangeError, PartitionLog } from '../../../src/kafka/storage/partitionLog.js';
import { FakeClock, batchesOf, buildBatch, config, tmpDir } from './batches.js';

function openLog(root: string, clock: FakeClock, over = {}): PartitionLog {
  return PartitionLog.open({
    dir: path.join(root, 'orders-0'),
    topic: 'orders',
    partition: 0,
    config: config(over),
    now: clock.now,
    topicId: 'AAAAAAAAAAAAAAAAAAAAAA',
  });
}

test('leader append assigns offsets and epoch in place, read returns whole batches', () => {
  const root = tmpDir();
  try {
    const clock = new FakeClock();
    const log = openLog(root, clock);
    const r1 = log.append(buildBatch({ count: 3, timestamp: 5000 }), 7);
    assert.deepEqual(r1, { firstOffset: 0, lastOffset: 2, maxTimestamp: 5002, offsetOfMaxTimestamp: 2 });
    const r2 = log.append(Buffer.concat([buildBatch({ count: 2 }), buildBatch({ count: 1, timestamp: 9000 })]), 7);
    assert.equal(r2.firstOffset, 3);
    assert.equal(r2.lastOffset, 5);
    assert.equal(r2.offsetOfMaxTimestamp, 5);
    assert.equal(log.logEndOffset, 6);
    log.highWatermark = 100;
    assert.equal(log.highWatermark, 6, 'clamped to the LEO');

    const all = log.read(0, 1 << 20, log.logEndOffset, false);
    assert.deepEqual(
      batchesOf(all.records).map((b) => [b.base, b.last]),
      [
        [0, 2],
        [3, 4],
        [5, 5],
      ],
    );
    assert.equal(all.bytes, log.size);
    const first = all.records[0];
    assert.equal(first.readInt32BE(12), 7, 'partitionLeaderEpoch stamped');

    // Reading from the middle of a batch returns the batch containing the offset.
    assert.deepEqual(
      batchesOf(log.read(4, 1 << 20, 6, false).records).map((b) => b.base),
      [3, 5],
    );
    // maxOffset excludes batches at or past it.
    assert.deepEqual(
      batchesOf(log.read(0, 1 << 20, 5, false).records).map((b) => b.base),
      [0, 3],
    );
    assert.equal(log.read(0, 1 << 20, 0, true).bytes, 0, 'nothing below maxOffset 0');
    // maxBytes smaller than the first batch: none unless minOneBatch.
    assert.equal(log.read(0, 10, 6, false).bytes, 0);
    assert.deepEqual(
      batchesOf(log.read(0, 10, 6, true).records).map((b) => b.base),
      [0],
    );
    // At the LEO: empty; outside the log: OffsetOutOfRangeError.
    assert.equal(log.read(6, 1000, 6, true).bytes, 0);
    assert.throws(() => log.read(7, 1000, 7, true), OffsetOutOfRangeError);
    assert.throws(() => log.read(-1, 1000, 7, true), OffsetOutOfRangeError);
    assert.equal(log.epochs.latestEpoch, 7);
    log.close();
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('segments roll at segment.bytes and reads continue across segments', () => {
  const root = tmpDir();
  try {
    const clock = new FakeClock();
    const one = buildBatch({ count: 1, valueBytes: 100 }).length;
    const log = openLog(root, clock, { segmentBytes: one * 3 });
    for (let i = 0; i < 10; i++) log.append(buildBatch({ count: 1, valueBytes: 100 }), 0);
    assert.deepEqual(log.segmentBaseOffsets(), [0, 3, 6, 9]);
    const dir = path.join(root, 'orders-0');
    const names = fs.readdirSync(dir).sort();
    assert.ok(names.includes('00000000000000000003.log'));
    assert.ok(names.includes('00000000000000000003.index'));
    assert.ok(names.includes('00000000000000000003.timeindex'));
    assert.equal(fs.readFileSync(path.join(dir, 'partition.metadata'), 'utf8'), 'version: 0\ntopic_id: AAAAAAAAAAAAAAAAAAAAAA');
    // Rolled segments have trimmed indexes; the active one is preallocated to segment.index.bytes.
    assert.equal(fs.statSync(path.join(dir, '00000000000000000000.index')).size, 0);
    assert.equal(fs.statSync(path.join(dir, '00000000000000000000.timeindex')).size, 12, 'final time entry on roll');
    assert.equal(fs.statSync(path.join(dir, '00000000000000000009.index')).size, 64 * 1024);
    assert.equal(fs.statSync(path.join(dir, '00000000000000000009.timeindex')).size, 64 * 1024 - ((64 * 1024) % 12));

    const r = log.read(1, 1 << 20, 10, false);
    assert.deepEqual(
      batchesOf(r.records).map((b) => b.base),
      [1, 2, 3, 4, 5, 6, 7, 8, 9],
    );
    const limited = log.read(2, one * 2, 10, false);
    assert.deepEqual(
      batchesOf(limited.records).map((b) => b.base),
      [2, 3],
    );
    log.close();
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('segment.ms rolls on append using batch timestamps', () => {
  const root = tmpDir();
  try {
    const clock = new FakeClock();
    const log = openLog(root, clock, { segmentMs: 1000 });
    log.append(buildBatch({ timestamp: 10_000 }), 0);
    log.append(buildBatch({ timestamp: 10_500 }), 0);
    assert.deepEqual(log.segmentBaseOffsets(), [0]);
    log.append(buildBatch({ timestamp: 11_001 }), 0);
    assert.deepEqual(log.segmentBaseOffsets(), [0, 2]);
    log.close();
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('offset index is sparse every index.interval.bytes and its entries point at batch starts', () => {
  const root = tmpDir();
  try {
    const clock = new FakeClock();
    const log = openLog(root, clock, { indexIntervalBytes: 256 });
    const size = buildBatch({ count: 2, valueBytes: 50 }).length;
    for (let i = 0; i < 40; i++) log.append(buildBatch({ count: 2, valueBytes: 50, timestamp: 1000 + i }), 1);
    log.close();
    const dir = path.join(root, 'orders-0');
    const idx = fs.readFileSync(path.join(dir, '00000000000000000000.index'));
    assert.ok(idx.length > 0 && idx.length % 8 === 0);
    const logBytes = fs.readFileSync(path.join(dir, '00000000000000000000.log'));
    let prevRel = -1;
    for (let p = 0; p < idx.length; p += 8) {
      const rel = idx.readInt32BE(p);
      const pos = idx.readInt32BE(p + 4);
      assert.ok(rel > prevRel);
      prevRel = rel;
      assert.equal(pos % size, 0, 'position at a batch boundary');
      // The entry's offset is the last offset of the batch at that position.
      assert.equal(Number(logBytes.readBigInt64BE(pos)) + logBytes.readInt32BE(pos + 23), rel);
    }
    // First entry only after more than 256 bytes were written since the start.
    assert.equal(idx.readInt32BE(4), size * Math.floor(256 / size + 1));
    const tidx = fs.readFileSync(path.join(dir, '00000000000000000000.timeindex'));
    assert.equal(tidx.length % 12, 0);
    assert.equal(Number(tidx.readBigInt64BE(tidx.length - 12)), 1000 + 39 + 1, 'last time entry = max timestamp');
    assert.equal(tidx.readInt32BE(tidx.length - 4), 79);

    // Reopen and look up every offset through the index.
    const again = openLog(root, clock, { indexIntervalBytes: 256 });
    for (let o = 0; o < 80; o++) {
      const r = again.read(o, 1, 80, true);
      const [b] = batchesOf(r.records);
      assert.ok(b.base <= o && o <= b.last, `offset ${o}`);
    }
    again.close();
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('follower append keeps offsets, allows gaps, assigns epochs per batch and rejects going backwards', () => {
  const root = tmpDir();
  try {
    const clock = new FakeClock();
    const log = openLog(root, clock);
    log.appendAsFollower(
      Buffer.concat([buildBatch({ baseOffset: 0, count: 2, epoch: 1 }), buildBatch({ baseOffset: 2, count: 1, epoch: 3 })]),
    );
    assert.equal(log.logEndOffset, 3);
    const r = log.appendAsFollower(buildBatch({ baseOffset: 10, count: 2, epoch: 3 }));
    assert.deepEqual(r, { firstOffset: 10, lastOffset: 11 });
    assert.equal(log.logEndOffset, 12);
    assert.deepEqual(log.epochs.all, [
      { epoch: 1, startOffset: 0 },
      { epoch: 3, startOffset: 2 },
    ]);
    assert.throws(() => log.appendAsFollower(buildBatch({ baseOffset: 5 })));
    assert.deepEqual(
      batchesOf(log.read(4, 1 << 20, 12, false).records).map((b) => b.base),
      [10],
    );
    log.close();
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('LogAppendTime stamps maxTimestamp, sets the attribute and keeps the CRC valid', async () => {
  const { crc32c } = await import('@node-rs/crc32');
  const root = tmpDir();
  try {
    const clock = new FakeClock(777_000);
    const log = openLog(root, clock, { messageTimestampType: 'LogAppendTime' });
    const res = log.append(buildBatch({ count: 2, timestamp: 1 }), 0);
    assert.equal(res.maxTimestamp, 777_000);
    const [b] = log.read(0, 1 << 20, 2, true).records;
    assert.equal(Number(b.readBigInt64BE(35)), 777_000);
    assert.equal(b.readInt16BE(21) & 0x08, 0x08);
    assert.equal(b.readUInt32BE(17), crc32c(b.subarray(21)));
    log.close();
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('max.message.bytes bounds a batch; flush.messages moves the recovery point', () => {
  const root = tmpDir();
  try {
    const clock = new FakeClock();
    const log = openLog(root, clock, { maxMessageBytes: 100, flushMessages: 2 });
    assert.throws(() => log.append(buildBatch({ valueBytes: 200 }), 0), /max.message.bytes/);
    log.append(buildBatch(), 0);
    assert.equal(log.recoveryPoint, 0);
    log.append(buildBatch(), 0);
    assert.equal(log.recoveryPoint, 2);
    log.close();
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('a rolled segment is fsynced in the background and then the recovery point moves past it', async () => {
  const root = tmpDir();
  try {
    const clock = new FakeClock();
    const size = buildBatch().length;
    const log = openLog(root, clock, { segmentBytes: size * 2 });
    for (let i = 0; i < 3; i++) log.append(buildBatch(), 0);
    assert.deepEqual(log.segmentBaseOffsets(), [0, 2]);
    await log.whenFlushed();
    assert.equal(log.recoveryPoint, 2);
    log.truncateTo(1);
    assert.equal(log.recoveryPoint, 1, 'never above the LEO after truncation');
    log.close();
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

// Found by the cluster simulator: a broker that became leader (epoch 4 assigned at its log end)
// and appended nothing kept epoch 4 in its cache after following the next leader, saw a
// divergence with it at every fetch and never rejoined the ISR. Kafka trims in that case too.
test('truncating to the log end or past it drops an epoch that starts there, and keeps the data', () => {
  const root = tmpDir();
  try {
    const log = openLog(root, new FakeClock());
    log.append(buildBatch({ count: 3 }), 3);
    log.epochs.assign(4, log.logEndOffset);
    assert.deepEqual(
      log.epochs.all.map((e) => [e.epoch, e.startOffset]),
      [
        [3, 0],
        [4, 3],
      ],
    );
    log.truncateTo(log.logEndOffset + 10);
    assert.equal(log.logEndOffset, 3);
    assert.deepEqual(
      log.epochs.all.map((e) => [e.epoch, e.startOffset]),
      [[3, 0]],
    );
    log.close();
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
