// The pure reassignment rules (controller/reassignment.ts) against Kafka 3.9's
// ReplicaAssignment.reassignTo, validateReplicas, maybeBuildReassignment and the phase-B election.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  buildReassignment,
  completedState,
  isBeingReassigned,
  isReassignmentComplete,
  originReplicas,
  reassignTo,
  settled,
  targetReplicas,
  unneededReplicas,
  validateTarget,
  withoutReplicasInIsr,
} from '../../../src/kafka/controller/reassignment.js';
import { ErrorCode } from '../../../src/kafka/protocol/errors.js';
import type { PartitionState } from '../../../src/kafka/zk/layout.js';
import { decodeReassignPartitions, decodeTopicAssignment, encodeReassignPartitions } from '../../../src/kafka/zk/layout.js';

const state = (leader: number, isr: number[], leaderEpoch = 5): PartitionState => ({
  leader,
  leaderEpoch,
  isr,
  controllerEpoch: 1,
  leaderRecoveryState: 0,
});

test('reassignTo: RS = target then origin, AR = RS - ORS, RR = RS - target', () => {
  const a = reassignTo(settled([1, 2]), [2, 3]);
  assert.deepEqual(a, { replicas: [2, 3, 1], adding: [3], removing: [1] });
  assert.deepEqual(originReplicas(a), [2, 1]);
  assert.deepEqual(targetReplicas(a), [2, 3]);
  assert.equal(isBeingReassigned(a), true);
  // A plain reorder adds and removes nothing: it completes at once.
  const reorder = reassignTo(settled([1, 2, 3]), [3, 1, 2]);
  assert.deepEqual(reorder, { replicas: [3, 1, 2], adding: [], removing: [] });
  assert.equal(isBeingReassigned(reorder), false);
});

test('a changed reassignment keeps the origin and drops replicas it no longer wants', () => {
  const first = reassignTo(settled([1, 2]), [2, 3]);
  const second = reassignTo(first, [2, 4]);
  assert.deepEqual(second, { replicas: [2, 4, 1], adding: [4], removing: [1] });
  assert.deepEqual(unneededReplicas(first, second), [3]);
});

test('cancelling moves back to the origin; cancelling nothing is NO_REASSIGNMENT_IN_PROGRESS (undefined)', () => {
  const moving = reassignTo(settled([1, 2]), [2, 3]);
  // ORS keeps RS's order (targets first), so a cancelled move may come back reordered, as in Kafka.
  assert.deepEqual(buildReassignment(moving, null), { replicas: [2, 1], adding: [], removing: [] });
  assert.equal(buildReassignment(settled([1, 2]), null), undefined);
  assert.deepEqual(buildReassignment(settled([1, 2]), [3, 2]), { replicas: [3, 2, 1], adding: [3], removing: [1] });
});

test('validateTarget refuses empty, duplicate, negative and dead added replicas', () => {
  const live = (id: number): boolean => [1, 2, 3].includes(id);
  const cur = settled([1, 2]);
  assert.equal(validateTarget(cur, [], live)?.errorCode, ErrorCode.INVALID_REPLICA_ASSIGNMENT);
  assert.equal(validateTarget(cur, [2, 2], live)?.errorCode, ErrorCode.INVALID_REPLICA_ASSIGNMENT);
  assert.equal(validateTarget(cur, [2, -1], live)?.errorCode, ErrorCode.INVALID_REPLICA_ASSIGNMENT);
  assert.equal(validateTarget(cur, [2, 4], live)?.errorCode, ErrorCode.INVALID_REPLICA_ASSIGNMENT);
  assert.match(validateTarget(cur, [2, 4], live)!.message, /not alive/);
  assert.equal(validateTarget(cur, [2, 3], live), undefined);
  // A dead replica that stays (not added) is allowed, as in Kafka.
  assert.equal(validateTarget(settled([1, 5]), [5, 2], live), undefined);
});

test('complete once every target replica is in the ISR', () => {
  const a = reassignTo(settled([1, 2]), [2, 3]);
  assert.equal(isReassignmentComplete(a, [1, 2]), false);
  assert.equal(isReassignmentComplete(a, [1, 2, 3]), true);
  assert.equal(isReassignmentComplete(a, [3, 2]), true);
});

test('phase B: the leader stays in TRS, else the first live in-ISR target replica leads; RR leaves the ISR', () => {
  const a = reassignTo(settled([1, 2]), [2, 3]);
  const all = (): boolean => true;
  assert.deepEqual(completedState(state(2, [1, 2, 3]), a, all), state(2, [2, 3]));
  // The leader is being removed: the first target replica in the ISR takes over.
  assert.deepEqual(completedState(state(1, [1, 2, 3]), a, all), state(2, [2, 3]));
  // ... unless it may not lead (down or shutting down).
  assert.deepEqual(
    completedState(state(1, [1, 2, 3]), a, (r) => r !== 2),
    state(3, [2, 3]),
  );
  assert.equal(
    completedState(state(1, [1, 2, 3]), a, (r) => r === 1),
    undefined,
  );
});

test('stopping replicas takes them out of the ISR, never the leader', () => {
  assert.deepEqual(withoutReplicasInIsr(state(1, [1, 2, 3]), [3]), state(1, [1, 2]));
  assert.equal(withoutReplicasInIsr(state(1, [1, 2]), [3]), undefined);
  assert.deepEqual(withoutReplicasInIsr(state(1, [1, 3]), [1, 3]), state(1, [1]));
});

test('the legacy /admin/reassign_partitions znode reads and writes as Kafka does', () => {
  const text = '{"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[2,3]},{"topic":"u","partition":4,"replicas":[1]}]}';
  const entries = decodeReassignPartitions(Buffer.from(text));
  assert.deepEqual(entries, [
    { topic: 't', partition: 0, replicas: [2, 3] },
    { topic: 'u', partition: 4, replicas: [1] },
  ]);
  assert.equal(encodeReassignPartitions(entries).toString(), text);
  // The pre-2.4 tool also wrote log_dirs: ignored.
  const withDirs = '{"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[2],"log_dirs":["any"]}]}';
  assert.deepEqual(decodeReassignPartitions(Buffer.from(withDirs)), [{ topic: 't', partition: 0, replicas: [2] }]);
  assert.throws(() => decodeReassignPartitions(Buffer.from('{"version":2,"partitions":[]}')));
});

test('a topic znode written by Kafka mid-move gives the adding and removing replicas', () => {
  const text =
    '{"partitions":{"0":[2,3,1]},"topic_id":"AAAAAAAAAAAAAAAAAAAAAQ","adding_replicas":{"0":[3]},"removing_replicas":{"0":[1]},"version":3}';
  const a = decodeTopicAssignment('t', Buffer.from(text));
  assert.deepEqual(a.partitions.get(0), [2, 3, 1]);
  assert.deepEqual(a.addingReplicas.get(0), [3]);
  assert.deepEqual(a.removingReplicas.get(0), [1]);
});
