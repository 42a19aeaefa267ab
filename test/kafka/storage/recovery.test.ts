import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PartitionLog } from '../../../src/kafka/storage/partitionLog.js';
import { FakeClock, batchesOf, buildBatch, config, tmpDir } from './batches.js';

const SEG0 = '00000000000000000000';

function open(
  dir: string,
  clock: FakeClock,
  o: { recoveryPoint?: number; cleanShutdown?: boolean; logStartOffset?: number } = {},
  over = {},
): PartitionLog {
  return PartitionLog.open({ dir, topic: 't', partition: 0, config: config({ indexIntervalBytes: 200, ...over }), now: clock.now, ...o });
}

/** Writes `n` batches of 2 records with epochs; returns the batch size and closes (or abandons) the log. */
function fill(dir: string, clock: FakeClock, n: number, over = {}): { size: number; log: PartitionLog } {
  const log = open(dir, clock, {}, over);
  let size = 0;
  for (let i = 0; i < n; i++) {
    const b = buildBatch({ count: 2, valueBytes: 30, timestamp: 100 + i });
    size = b.length;
    log.append(b, i < n / 2 ? 1 : 2);
  }
  return { size, log };
}

function offsetsOf(log: PartitionLog): number[] {
  return batchesOf(log.read(log.logStartOffset, 1 << 24, log.logEndOffset, true).records).map((b) => b.base);
}

test('reopen after a clean close needs no recovery and sees the same log', () => {
  const root = tmpDir();
  try {
    const dir = path.join(root, 't-0');
    const clock = new FakeClock();
    const { log } = fill(dir, clock, 20);
    assert.equal(fs.statSync(path.join(dir, `${SEG0}.index`)).size, 64 * 1024, 'preallocated while active');
    log.close();
    const trimmed = fs.statSync(path.join(dir, `${SEG0}.index`)).size;
    assert.ok(trimmed > 0 && trimmed < 64 * 1024 && trimmed % 8 === 0, 'trimmed to its entries on close');
    const again = open(dir, clock, { cleanShutdown: true, recoveryPoint: 40 });
    assert.equal(again.logEndOffset, 40);
    assert.equal(again.recoveryPoint, 40);
    assert.deepEqual(
      offsetsOf(again),
      Array.from({ length: 20 }, (_, i) => i * 2),
    );
    assert.deepEqual(again.epochs.all, [
      { epoch: 1, startOffset: 0 },
      { epoch: 2, startOffset: 20 },
    ]);
    assert.equal(again.maxTimestampAndOffset().timestamp, 100 + 19 + 1);
    // Appends continue at the LEO.
    assert.equal(again.append(buildBatch(), 2).firstOffset, 40);
    again.close();
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('crash with a torn last batch: recovery keeps exactly the intact batches', () => {
  const root = tmpDir();
  try {
    const dir = path.join(root, 't-0');
    const clock = new FakeClock();
    const { size, log } = fill(dir, clock, 10);
    // "Crash": no close; cut the last batch in half.
    const logFile = path.join(dir, `${SEG0}.log`);
    fs.truncateSync(logFile, size * 9 + Math.floor(size / 2));
    void log;
    const again = open(dir, clock, { recoveryPoint: 0 });
    assert.equal(again.logEndOffset, 18);
    assert.equal(fs.statSync(logFile).size, size * 9);
    assert.deepEqual(offsetsOf(again), [0, 2, 4, 6, 8, 10, 12, 14, 16]);
    assert.equal(again.append(buildBatch(), 3).firstOffset, 18);
    again.close();
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('crash with a corrupt byte: the bad batch and everything after it are dropped, later segments too', () => {
  const root = tmpDir();
  try {
    const dir = path.join(root, 't-0');
    const clock = new FakeClock();
    const probe = buildBatch({ count: 2, valueBytes: 30 }).length;
    const { size } = fill(dir, clock, 12, { segmentBytes: probe * 5 });
    assert.equal(size, probe);
    const bases = fs
      .readdirSync(dir)
      .filter((n) => n.endsWith('.log'))
      .sort();
    assert.deepEqual(bases, [`${SEG0}.log`, '00000000000000000010.log', '00000000000000000020.log']);
    // Flip a value byte inside batch 3 (offsets 6-7) of the first segment.
    const logFile = path.join(dir, `${SEG0}.log`);
    const fd = fs.openSync(logFile, 'r+');
    const one = Buffer.alloc(1);
    fs.readSync(fd, one, 0, 1, size * 3 + 70);
    one[0] ^= 0xff;
    fs.writeSync(fd, one, 0, 1, size * 3 + 70);
    fs.closeSync(fd);
    const again = open(dir, clock, { recoveryPoint: 0 }, { segmentBytes: probe * 5 });
    assert.equal(again.logEndOffset, 6);
    assert.deepEqual(offsetsOf(again), [0, 2, 4]);
    assert.deepEqual(again.segmentBaseOffsets(), [0]);
    assert.ok(!fs.existsSync(path.join(dir, '00000000000000000010.log')));
    // Epoch entries past the new end are gone.
    assert.deepEqual(again.epochs.all, [{ epoch: 1, startOffset: 0 }]);
    again.close();
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('segments below the recovery point are trusted; a missing index is rebuilt', () => {
  const root = tmpDir();
  try {
    const dir = path.join(root, 't-0');
    const clock = new FakeClock();
    const probe = buildBatch({ count: 2, valueBytes: 30 }).length;
    const { log } = fill(dir, clock, 30, { segmentBytes: probe * 20 });
    log.close();
    const idx = path.join(dir, `${SEG0}.index`);
    const original = fs.readFileSync(idx);
    assert.ok(original.length >= 16, 'several index entries');
    fs.rmSync(idx);
    fs.rmSync(path.join(dir, `${SEG0}.timeindex`));
    const again = open(dir, clock, { cleanShutdown: true, recoveryPoint: 60 }, { segmentBytes: probe * 20 });
    assert.deepEqual(fs.readFileSync(idx), original, 'rebuilt byte for byte');
    assert.deepEqual(
      offsetsOf(again),
      Array.from({ length: 30 }, (_, i) => i * 2),
    );
    for (let o = 0; o < 60; o += 7) {
      const [b] = batchesOf(again.read(o, 1, 60, true).records);
      assert.ok(b.base <= o && o <= b.last);
    }
    again.close();
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('a corrupt index (length not a multiple of 8, position past the log) is rebuilt', () => {
  const root = tmpDir();
  try {
    const dir = path.join(root, 't-0');
    const clock = new FakeClock();
    const { log } = fill(dir, clock, 20);
    log.close();
    const idx = path.join(dir, `${SEG0}.index`);
    const original = fs.readFileSync(idx);
    fs.writeFileSync(idx, Buffer.concat([original, Buffer.from([1, 2, 3])]));
    let again = open(dir, clock, { cleanShutdown: true, recoveryPoint: 40 });
    again.close();
    assert.deepEqual(fs.readFileSync(idx), original);
    const bad = Buffer.from(original);
    bad.writeInt32BE(1 << 30, bad.length - 4);
    fs.writeFileSync(idx, bad);
    again = open(dir, clock, { cleanShutdown: true, recoveryPoint: 40 });
    assert.deepEqual(
      offsetsOf(again),
      Array.from({ length: 20 }, (_, i) => i * 2),
    );
    again.close();
    assert.deepEqual(fs.readFileSync(idx), original);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('crash leaves the preallocated index: recovery trims it; the log start offset checkpoint is honoured', () => {
  const root = tmpDir();
  try {
    const dir = path.join(root, 't-0');
    const clock = new FakeClock();
    fill(dir, clock, 10);
    assert.equal(fs.statSync(path.join(dir, `${SEG0}.index`)).size, 64 * 1024);
    const again = open(dir, clock, { recoveryPoint: 0, logStartOffset: 5 });
    assert.equal(again.logStartOffset, 5);
    assert.equal(again.logEndOffset, 20);
    // The active segment is preallocated again for appends; reads still work.
    assert.deepEqual(batchesOf(again.read(5, 1 << 20, 20, true).records)[0].base, 4);
    again.close();
    const idxLen = fs.statSync(path.join(dir, `${SEG0}.index`)).size;
    assert.ok(idxLen < 64 * 1024 && idxLen % 8 === 0);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
