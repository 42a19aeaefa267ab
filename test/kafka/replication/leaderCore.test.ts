import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ErrorCode } from '../../../src/kafka/protocol/errors.js';
import { HW_FROZEN, LeaderCore } from '../../../src/kafka/replication/leaderCore.js';

const LAG_MS = 10_000;

/** Broker 1 leads replicas [1,2,3] with the given ISR, leader log end `leo`, at time `now`. */
function leader(isr = [1, 2, 3], leo = 100, now = 1_000): LeaderCore {
  const c = new LeaderCore(1, LAG_MS);
  assert.equal(c.becomeLeader({ leaderEpoch: 5, partitionEpoch: 7, isr, replicas: [1, 2, 3] }, leo, now, true), true);
  return c;
}

test('HW is the lowest log end offset among the ISR, capped by the leader', () => {
  const c = leader();
  // Followers not heard from yet hold the HW back (their log end is unknown).
  assert.ok(c.highWatermarkCandidate(100, 1_000, 1) < 0);
  c.updateFollowerFetchState(2, 90, 0, 100, 1_001);
  c.updateFollowerFetchState(3, 80, 0, 100, 1_001);
  assert.equal(c.highWatermarkCandidate(100, 1_002, 1), 80);
  c.updateFollowerFetchState(3, 100, 0, 100, 1_003);
  assert.equal(c.highWatermarkCandidate(100, 1_004, 1), 90);
  c.updateFollowerFetchState(2, 100, 0, 100, 1_005);
  assert.equal(c.highWatermarkCandidate(100, 1_006, 1), 100);
});

test('a follower outside the ISR does not hold the HW back unless it is caught up', () => {
  const c = leader([1, 2]);
  c.updateFollowerFetchState(2, 100, 0, 100, 1_001);
  // Replica 3 never caught up (lastCaughtUpTime 0, long ago): ignored.
  c.updateFollowerFetchState(3, 10, 0, 100, 50_000);
  assert.equal(c.highWatermarkCandidate(100, 50_000, 1), 100);
  // Once it has caught up recently it counts, so it can join the ISR (Kafka 3.9's rule).
  c.updateFollowerFetchState(3, 100, 0, 100, 50_001);
  assert.equal(c.highWatermarkCandidate(120, 50_002, 1), 100);
});

test('the maximal ISR (a pending expansion) holds the HW', () => {
  const c = leader([1, 2]);
  c.updateFollowerFetchState(2, 100, 0, 100, 1_001);
  c.updateFollowerFetchState(3, 100, 0, 100, 1_001);
  const p = c.maybeProposeExpand(3, 100);
  assert.deepEqual(p?.isr, [1, 2, 3]);
  assert.deepEqual(c.maximalIsr, [1, 2, 3]);
  // Leader appends; replica 3 (in the maximal ISR) has not fetched the new records.
  c.updateFollowerFetchState(2, 150, 0, 150, 100_000);
  assert.equal(c.highWatermarkCandidate(150, 100_000, 1), 100);
});

test('the HW does not move while the ISR is below min.insync.replicas', () => {
  const c = leader([1]);
  c.updateFollowerFetchState(2, 100, 0, 100, 1_001);
  assert.equal(c.highWatermarkCandidate(100, 1_002, 2), HW_FROZEN);
  // min.insync.replicas above the replication factor counts as the replication factor.
  const solo = new LeaderCore(1, LAG_MS);
  solo.becomeLeader({ leaderEpoch: 1, partitionEpoch: 0, isr: [1], replicas: [1] }, 0, 0, true);
  assert.equal(solo.effectiveMinIsr(3), 1);
  assert.equal(solo.highWatermarkCandidate(42, 0, 3), 42);
});

test('ISR shrink: only followers behind the leader for longer than replica.lag.time.max.ms', () => {
  const c = leader([1, 2, 3], 100, 1_000);
  c.updateFollowerFetchState(2, 100, 0, 100, 2_000);
  c.updateFollowerFetchState(3, 60, 0, 100, 2_000);
  // Within the lag time nobody is out of sync (ISR members start as caught up at becomeLeader).
  assert.deepEqual(c.outOfSyncReplicas(100, 1_000 + LAG_MS), []);
  // Replica 2 is at the leader's end: never out of sync however old its catch-up time.
  assert.deepEqual(c.outOfSyncReplicas(100, 1_001 + LAG_MS), [3]);
  const p = c.maybeProposeShrink(100, 1_001 + LAG_MS);
  assert.deepEqual(p?.isr, [1, 2]);
  assert.equal(p?.kind, 'shrink');
  assert.equal(p?.partitionEpoch, 7);
});

test('a follower that keeps fetching up to the leader end of its previous fetch stays in sync', () => {
  const c = leader([1, 2], 100, 0);
  // Each fetch reaches what the leader had at the previous fetch: caught up as of that earlier time.
  c.updateFollowerFetchState(2, 100, 0, 120, 5_000);
  c.updateFollowerFetchState(2, 120, 0, 140, 9_000);
  c.updateFollowerFetchState(2, 140, 0, 160, 14_000);
  assert.deepEqual(c.outOfSyncReplicas(160, 15_000), []);
  assert.equal(c.remotes.get(2)?.lastCaughtUpTimeMs, 9_000);
});

test('ISR expand: a follower joins once at the HW and inside the current leader epoch', () => {
  const c = leader([1, 2], 100);
  // Below the epoch start offset (100): not yet.
  c.updateFollowerFetchState(3, 90, 0, 100, 1_001);
  assert.equal(c.maybeProposeExpand(3, 90), undefined);
  c.updateFollowerFetchState(3, 100, 0, 100, 1_002);
  assert.equal(c.maybeProposeExpand(3, 101), undefined, 'below the HW');
  assert.equal(
    c.maybeProposeExpand(3, 100, () => false),
    undefined,
    'not a live broker',
  );
  assert.deepEqual(c.maybeProposeExpand(3, 100)?.isr, [1, 2, 3]);
});

test('one ISR change in flight: no new proposal until it is answered', () => {
  const c = leader([1, 2, 3], 100, 0);
  c.updateFollowerFetchState(2, 10, 0, 100, 1);
  const shrink = c.maybeProposeShrink(100, LAG_MS + 10);
  assert.ok(shrink);
  assert.deepEqual(c.outOfSyncReplicas(100, LAG_MS + 20), []);
  assert.equal(c.maybeProposeShrink(100, LAG_MS + 20), undefined);
  assert.equal(c.maybeProposeExpand(2, 0), undefined);
  // A retriable error keeps it in flight; a success adopts the controller's state.
  assert.equal(
    c.onAlterPartitionResult(shrink, { errorCode: ErrorCode.NOT_CONTROLLER, leaderEpoch: -1, isr: [], partitionEpoch: -1 }),
    'retry',
  );
  assert.equal(c.pending, shrink);
  assert.equal(c.onAlterPartitionResult(shrink, { errorCode: 0, leaderEpoch: 5, isr: [1], partitionEpoch: 8 }), 'adopted');
  assert.deepEqual(c.isr, [1]);
  assert.equal(c.partitionEpoch, 8);
  assert.equal(c.pending, undefined);
  // An answer to a proposal no longer current is ignored.
  assert.equal(c.onAlterPartitionResult(shrink, { errorCode: 0, leaderEpoch: 5, isr: [1, 2, 3], partitionEpoch: 9 }), 'ignored');
  assert.deepEqual(c.isr, [1]);
});

test('a fenced or stale-version ISR change waits for the next LeaderAndIsr', () => {
  for (const errorCode of [ErrorCode.FENCED_LEADER_EPOCH, ErrorCode.INVALID_UPDATE_VERSION]) {
    const c = leader([1, 2, 3], 100, 0);
    const p = c.maybeProposeShrink(100, LAG_MS + 10);
    assert.ok(p);
    assert.equal(c.onAlterPartitionResult(p, { errorCode, leaderEpoch: -1, isr: [], partitionEpoch: -1 }), 'await-leader-and-isr');
    assert.equal(c.maybeProposeShrink(100, LAG_MS + 20), undefined, 'still blocked');
    // The controller's LeaderAndIsr replaces the state and unblocks.
    c.becomeLeader({ leaderEpoch: 6, partitionEpoch: 9, isr: [1, 2], replicas: [1, 2, 3] }, 100, LAG_MS + 30, false);
    assert.equal(c.pending, undefined);
    assert.deepEqual(c.isr, [1, 2]);
  }
});

test('a success naming another leader epoch is not adopted', () => {
  const c = leader([1, 2, 3], 100, 0);
  const p = c.maybeProposeShrink(100, LAG_MS + 10);
  assert.ok(p);
  assert.equal(c.onAlterPartitionResult(p, { errorCode: 0, leaderEpoch: 9, isr: [1], partitionEpoch: 20 }), 'await-leader-and-isr');
  assert.deepEqual(c.isr, [1, 2, 3]);
});

test('becomeLeader ignores an older partition epoch and resets followers on a new leader epoch', () => {
  const c = leader([1, 2, 3], 100, 0);
  c.updateFollowerFetchState(2, 100, 0, 100, 5);
  assert.equal(c.becomeLeader({ leaderEpoch: 6, partitionEpoch: 3, isr: [1], replicas: [1, 2, 3] }, 100, 10, false), false);
  assert.deepEqual(c.isr, [1, 2, 3]);
  // Re-elected with a new epoch: the follower's position is kept, its catch-up time restarts.
  c.becomeLeader({ leaderEpoch: 6, partitionEpoch: 8, isr: [1, 2], replicas: [1, 2] }, 120, 50, false);
  assert.equal(c.remotes.get(2)?.logEndOffset, 100);
  assert.equal(c.remotes.get(2)?.lastCaughtUpTimeMs, 50);
  assert.equal(c.remotes.has(3), false, 'no longer a replica');
  assert.equal(c.epochStartOffset, 120);
  // A fetch from a broker that is not a replica is refused.
  assert.equal(c.updateFollowerFetchState(3, 0, 0, 120, 60), undefined);
});

test('acks=all completes at the HW, with NOT_ENOUGH_REPLICAS_AFTER_APPEND when the ISR fell below min.insync.replicas', () => {
  const c = leader([1, 2, 3]);
  assert.equal(c.checkEnoughReplicasReachOffset(101, 100, 2), undefined);
  assert.equal(c.checkEnoughReplicasReachOffset(100, 100, 2), ErrorCode.NONE);
  const p = c.maybeProposeShrink(100, 1_000 + LAG_MS + 1);
  assert.ok(p);
  c.onAlterPartitionResult(p, { errorCode: 0, leaderEpoch: 5, isr: [1], partitionEpoch: 8 });
  assert.equal(c.checkEnoughReplicasReachOffset(100, 100, 2), ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND);
  assert.equal(c.isUnderMinIsr(2), true);
});

test('DeleteRecords low watermark: the lowest log start among the leader and live followers', () => {
  const c = leader([1, 2, 3]);
  assert.equal(c.lowWatermark(50), -1, 'followers not heard from hold it back');
  c.updateFollowerFetchState(2, 100, 40, 100, 1_001);
  c.updateFollowerFetchState(3, 100, 50, 100, 1_001);
  assert.equal(c.lowWatermark(50), 40);
  assert.equal(
    c.lowWatermark(50, (id) => id !== 2),
    50,
    'a dead broker does not count',
  );
});
