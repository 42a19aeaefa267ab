import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LeaderEpochCache } from '../../../src/kafka/storage/leaderEpochCache.js';
import { tmpDir } from './batches.js';

test('endOffsetFor follows Kafka: latest -> LEO, between -> next start, below first -> first start, above -> undefined', () => {
  const c = new LeaderEpochCache(undefined);
  assert.deepEqual(c.endOffsetFor(0, 10), { epoch: -1, endOffset: -1 }, 'empty cache');
  c.assign(2, 0);
  c.assign(4, 10);
  c.assign(7, 25);
  assert.deepEqual(c.endOffsetFor(7, 40), { epoch: 7, endOffset: 40 });
  assert.deepEqual(c.endOffsetFor(4, 40), { epoch: 4, endOffset: 25 });
  assert.deepEqual(c.endOffsetFor(5, 40), { epoch: 4, endOffset: 25 }, 'unknown epoch: largest smaller one');
  assert.deepEqual(c.endOffsetFor(1, 40), { epoch: 1, endOffset: 0 });
  assert.deepEqual(c.endOffsetFor(9, 40), { epoch: -1, endOffset: -1 });
  assert.deepEqual(c.endOffsetFor(-1, 40), { epoch: -1, endOffset: -1 });
  assert.equal(c.epochForOffset(12), 4);
  assert.equal(c.epochForOffset(25), 7);
});

test('assign keeps epochs and offsets monotonic; same epoch at a later offset is a no-op', () => {
  const c = new LeaderEpochCache(undefined);
  c.assign(1, 0);
  c.assign(1, 5);
  assert.deepEqual(c.all, [{ epoch: 1, startOffset: 0 }]);
  c.assign(3, 10);
  c.assign(5, 20);
  // A new entry at an earlier offset removes the entries it contradicts.
  c.assign(4, 15);
  assert.deepEqual(c.all, [
    { epoch: 1, startOffset: 0 },
    { epoch: 3, startOffset: 10 },
    { epoch: 4, startOffset: 15 },
  ]);
  assert.throws(() => c.assign(-1, 0));
});

test('truncateFromEnd and truncateFromStart', () => {
  const c = new LeaderEpochCache(undefined);
  c.assign(1, 0);
  c.assign(2, 10);
  c.assign(3, 20);
  c.truncateFromEnd(20);
  assert.deepEqual(c.all, [
    { epoch: 1, startOffset: 0 },
    { epoch: 2, startOffset: 10 },
  ]);
  c.truncateFromStart(12);
  assert.deepEqual(c.all, [{ epoch: 2, startOffset: 12 }]);
  c.truncateFromStart(5);
  assert.deepEqual(c.all, [{ epoch: 2, startOffset: 12 }]);
});

test('leader-epoch-checkpoint is written byte-exact and read back', () => {
  const root = tmpDir();
  try {
    const file = path.join(root, 'leader-epoch-checkpoint');
    const c = new LeaderEpochCache(file);
    c.assign(0, 0);
    c.assign(3, 120);
    c.flush();
    assert.equal(fs.readFileSync(file, 'utf8'), '0\n2\n0 0\n3 120\n');
    assert.deepEqual(new LeaderEpochCache(file).all, c.all);
    fs.writeFileSync(file, '');
    assert.deepEqual(new LeaderEpochCache(file).all, [], 'Kafka creates it empty');
    fs.writeFileSync(file, '1\n0\n');
    assert.throws(() => new LeaderEpochCache(file), /version/);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('assign writes the file in the background; a truncation written meanwhile is not replaced by that older content', async () => {
  const root = tmpDir();
  try {
    const file = path.join(root, 'leader-epoch-checkpoint');
    const c = new LeaderEpochCache(file);
    c.assign(0, 0);
    c.assign(3, 120);
    await c.whenWritten();
    assert.equal(fs.readFileSync(file, 'utf8'), '0\n2\n0 0\n3 120\n');
    // A background write of epoch 5 starts; the truncation below is written synchronously meanwhile.
    c.assign(5, 200);
    c.truncateFromEnd(150);
    await c.whenWritten();
    assert.equal(fs.readFileSync(file, 'utf8'), '0\n2\n0 0\n3 120\n');
    assert.deepEqual(new LeaderEpochCache(file).all, c.all);
    assert.deepEqual(
      fs.readdirSync(root).filter((n) => n.endsWith('.tmp')),
      [],
      'no temporary file left behind',
    );
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
