import assert from 'node:assert/strict';
import { test } from 'node:test';
import { outOfRangeDecision, truncationDecision } from '../../../src/kafka/replication/truncation.js';
import { LeaderEpochCache } from '../../../src/kafka/storage/leaderEpochCache.js';

/** Our epochs: 1 from 0, 3 from 50, 4 from 80 (in memory). */
function ours(): LeaderEpochCache {
  return new LeaderEpochCache(undefined, [
    { epoch: 1, startOffset: 0 },
    { epoch: 3, startOffset: 50 },
    { epoch: 4, startOffset: 80 },
  ]);
}

test('same epoch on both sides: truncate to the smaller end of that epoch', () => {
  // We ask for epoch 4 (our latest, LEO 100); the leader wrote epoch 4 up to 90.
  assert.deepEqual(truncationDecision({ leaderEpoch: 4, endOffset: 90 }, ours(), 100, 70), { offset: 90, done: true });
  // The leader has more of epoch 4 than we do: nothing to cut.
  assert.deepEqual(truncationDecision({ leaderEpoch: 4, endOffset: 120 }, ours(), 100, 70), { offset: 100, done: true });
});

test('the leader answers an older epoch we also have: cut to where that epoch ended on the leader', () => {
  // The leader never had our epoch 4; its epoch 3 ended at 60, ours at 80.
  assert.deepEqual(truncationDecision({ leaderEpoch: 3, endOffset: 60 }, ours(), 100, 40), { offset: 60, done: true });
});

test('the leader answers an epoch we never had: cut to our end of the largest smaller epoch, then ask again', () => {
  // Leader says epoch 2 ended at 45; we have no epoch 2: our largest below is 1, which ends at 50.
  assert.deepEqual(truncationDecision({ leaderEpoch: 2, endOffset: 45 }, ours(), 100, 40), { offset: 50, done: false });
});

test('undefined answers fall back to the HW or the leader offset', () => {
  assert.deepEqual(truncationDecision({ leaderEpoch: -1, endOffset: -1 }, ours(), 100, 40), { offset: 40, done: true });
  assert.deepEqual(truncationDecision({ leaderEpoch: -1, endOffset: 70 }, ours(), 100, 40), { offset: 70, done: true });
  // An epoch newer than all of ours: only the leader's end offset can be used.
  assert.deepEqual(truncationDecision({ leaderEpoch: 9, endOffset: 95 }, ours(), 100, 40), { offset: 95, done: true });
});

test('out of range: behind the leader start restarts there, ahead of its end truncates, else keep', () => {
  assert.deepEqual(outOfRangeDecision(10, 50, 200), { kind: 'start-at', offset: 50 });
  assert.deepEqual(outOfRangeDecision(300, 50, 200), { kind: 'truncate', offset: 200 });
  assert.deepEqual(outOfRangeDecision(100, 50, 200), { kind: 'keep' });
});
