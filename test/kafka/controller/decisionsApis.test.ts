// The core's answers to AlterPartition, ControlledShutdown, ElectLeaders and the auto rebalance.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode } from '../../../src/kafka/protocol/errors.js';
import { type AlterPartitionItem, ControllerCore, type TopicSnapshot } from '../../../src/kafka/controller/decisions.js';

const live = (...ids: number[]): Map<number, number> => new Map(ids.map((id) => [id, 100 + id]));
const st = (leader: number, isr: number[], leaderEpoch = 0) => ({ leader, leaderEpoch, isr, controllerEpoch: 1, leaderRecoveryState: 0 });

/** Topic t: partition p on replicas[p] with state states[p] (zkVersion 5). */
function core(replicas: number[][], states: ReturnType<typeof st>[], brokers = live(1, 2, 3)): ControllerCore {
  const c = new ControllerCore({ controllerEpoch: 2 });
  const snap: TopicSnapshot = {
    topicId: 'id-t',
    partitions: new Map(replicas.map((r, p) => [p, r])),
    states: new Map(states.map((s, p) => [p, { state: s, zkVersion: 5 }])),
  };
  c.initialize(brokers, new Map([['t', snap]]));
  return c;
}

const item = (over: Partial<AlterPartitionItem> = {}): AlterPartitionItem => ({
  topic: 't',
  partition: 0,
  leaderEpoch: 3,
  newIsr: [1, 2],
  leaderRecoveryState: 0,
  partitionEpoch: 5,
  ...over,
});

test('AlterPartition: a valid shrink becomes a conditional write announced by UpdateMetadata only, leader epoch unchanged', () => {
  const c = core([[1, 2, 3]], [st(1, [1, 2, 3], 3)]);
  const { errorCode, outcomes } = c.alterPartition(1, 101, [item()]);
  assert.equal(errorCode, ErrorCode.NONE);
  assert.equal(outcomes[0]!.errorCode, ErrorCode.NONE);
  const write = outcomes[0]!.write!;
  const written = write.state;
  assert.deepEqual(write, {
    kind: 'updateState',
    topic: 't',
    partition: 0,
    state: { leader: 1, leaderEpoch: 3, isr: [1, 2], controllerEpoch: 2, leaderRecoveryState: 0 },
    expectedZkVersion: 5,
    metadataOnly: true,
  });
  const announced = c.stateWritten('t', 0, written, 6, { metadataOnly: true });
  assert.deepEqual(announced, [{ kind: 'metadataChange', partitions: [{ topic: 't', partition: 0 }] }]);
  // the same proposal again (a retry after a lost answer) is answered with the current state, no write
  const again = c.alterPartition(1, 101, [item()]).outcomes[0]!;
  assert.deepEqual([again.errorCode, again.write, again.state?.zkVersion], [ErrorCode.NONE, undefined, 6]);
});

test('AlterPartition validation: broker epoch, leader, leader epoch, partition epoch, eligibility, unknown partition', () => {
  const c = core([[1, 2, 3]], [st(1, [1, 2], 3)], live(1, 2, 3));
  const code = (brokerId: number, brokerEpoch: number, it: AlterPartitionItem): number => {
    const r = c.alterPartition(brokerId, brokerEpoch, [it]);
    return r.errorCode !== ErrorCode.NONE ? r.errorCode : r.outcomes[0]!.errorCode;
  };
  assert.equal(code(1, 99, item({ newIsr: [1, 2, 3] })), ErrorCode.STALE_BROKER_EPOCH);
  assert.equal(code(7, 107, item({ newIsr: [1, 2, 3] })), ErrorCode.STALE_BROKER_EPOCH);
  assert.equal(code(2, 102, item({ newIsr: [1, 2, 3] })), ErrorCode.NOT_LEADER_OR_FOLLOWER);
  assert.equal(code(1, 101, item({ newIsr: [1, 2, 3], leaderEpoch: 2 })), ErrorCode.FENCED_LEADER_EPOCH);
  assert.equal(code(1, 101, item({ newIsr: [1, 2, 3], partitionEpoch: 4 })), ErrorCode.INVALID_UPDATE_VERSION);
  assert.equal(code(1, 101, item({ newIsr: [1, 2, 3], newIsrEpochs: [101, 102, 999] })), ErrorCode.INELIGIBLE_REPLICA);
  assert.equal(code(1, 101, item({ newIsr: [1, 2, 4] })), ErrorCode.INELIGIBLE_REPLICA);
  assert.equal(code(1, 101, item({ partition: 9 })), ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  assert.equal(code(1, 101, item({ newIsr: [2, 3] })), ErrorCode.INVALID_REQUEST);
  // broker 3 gone: it cannot join the ISR
  c.brokersChanged(live(1, 2));
  assert.equal(code(1, 101, item({ newIsr: [1, 2, 3] })), ErrorCode.INELIGIBLE_REPLICA);
  assert.equal(code(1, 101, item({ newIsr: [1] })), ErrorCode.NONE);
});

test('controlled shutdown: led partitions move to the next live in-ISR replica; followed ones drop it and get StopReplica', () => {
  const c = core([[1, 2, 3], [2, 1, 3], [1, 3], [1]], [st(1, [1, 2, 3], 3), st(2, [2, 1, 3], 1), st(1, [1], 0), st(1, [1], 0)]);
  const { errorCode, decision } = c.controlledShutdown(1, 101);
  assert.equal(errorCode, ErrorCode.NONE);
  assert.deepEqual(decision.notifications, [
    { kind: 'stopReplica', topic: 't', partition: 1, deletePartition: false, replicas: [1], leaderEpoch: 1 },
  ]);
  assert.deepEqual(
    decision.writes.map((w) =>
      w.kind === 'updateState' ? [w.partition, w.state.leader, w.state.isr, w.state.leaderEpoch, w.skipBrokers] : w,
    ),
    [
      [0, 2, [2, 3], 4, undefined],
      [1, 2, [2, 3], 2, [1]],
    ],
  );
  for (const w of decision.writes) if (w.kind === 'updateState') c.stateWritten(w.topic, w.partition, w.state, 6);
  // partition 2: no other ISR member, so it stays; partition 3 has one replica and does not count
  assert.deepEqual(c.leadershipsOf(1), [{ topic: 't', partition: 2 }]);
  // a shutting-down broker is never elected: broker 2 goes, partition 0 must go to 3, not back to 1
  const d = c.brokersChanged(live(1, 3));
  const p0 = d.writes.find((w) => w.kind === 'updateState' && w.partition === 0);
  assert.ok(p0 && p0.kind === 'updateState');
  assert.deepEqual([p0.state.leader, p0.state.isr], [3, [3]]);
  assert.equal(c.controlledShutdown(1, 100).errorCode, ErrorCode.STALE_BROKER_EPOCH);
  assert.equal(c.controlledShutdown(9, -1).errorCode, ErrorCode.BROKER_NOT_AVAILABLE);
});

test('preferred election: back to the first replica when live and in the ISR; otherwise a named error', () => {
  const c = core(
    [
      [1, 2],
      [1, 2],
      [3, 2],
      [2, 1],
    ],
    [st(2, [2, 1], 4), st(2, [2], 1), st(2, [2, 3], 0), st(2, [2, 1], 0)],
    live(1, 2),
  );
  const out = c.electPreferred(undefined);
  assert.deepEqual(
    out.map((o) => [o.partition, o.errorCode]),
    [
      [0, ErrorCode.NONE],
      [1, ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE],
      [2, ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE],
      [3, ErrorCode.ELECTION_NOT_NEEDED],
    ],
  );
  assert.deepEqual([out[0]!.write?.state.leader, out[0]!.write?.state.leaderEpoch, out[0]!.write?.expectedZkVersion], [1, 5, 5]);
  assert.equal(c.electPreferred([{ topic: 'nope', partition: 0 }])[0]!.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
});

test('unclean election through ElectLeaders: only leaderless partitions; a live out-of-sync replica leads, RECOVERING', () => {
  const c = core(
    [
      [1, 2],
      [1, 2],
    ],
    [st(-1, [1], 4), st(2, [2], 0)],
    live(2),
  );
  const out = c.electUnclean(undefined);
  assert.deepEqual(
    out.map((o) => [o.partition, o.errorCode]),
    [
      [0, ErrorCode.NONE],
      [1, ErrorCode.ELECTION_NOT_NEEDED],
    ],
  );
  assert.deepEqual(out[0]!.write?.state, { leader: 2, leaderEpoch: 5, isr: [2], controllerEpoch: 2, leaderRecoveryState: 1 });
});

test('auto rebalance: a broker whose preferred partitions are led elsewhere past the percentage gets them back', () => {
  const c = core(
    [
      [1, 2],
      [1, 2],
      [2, 1],
      [2, 1],
    ],
    [st(2, [2, 1], 1), st(1, [1, 2], 0), st(2, [2, 1], 0), st(2, [2, 1], 0)],
    live(1, 2),
  );
  // broker 1: 1 of 2 preferred partitions led elsewhere = 50%
  assert.deepEqual(c.imbalancedPartitions(10), [{ topic: 't', partition: 0 }]);
  assert.deepEqual(c.imbalancedPartitions(50), []);
});
