import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ControllerCore, type TopicSnapshot } from '../../../src/kafka/controller/decisions.js';

const live = (...ids: number[]): Map<number, number> => new Map(ids.map((id) => [id, 100 + id]));
const st = (leader: number, isr: number[], leaderEpoch = 0) => ({ leader, leaderEpoch, isr, controllerEpoch: 1, leaderRecoveryState: 0 });
const topic = (replicas: number[], state?: ReturnType<typeof st>): Map<string, TopicSnapshot> =>
  new Map([
    ['t', { topicId: undefined, partitions: new Map([[0, replicas]]), states: new Map(state ? [[0, { state, zkVersion: 3 }]] : []) }],
  ]);

test('new partition: first live replica leads, ISR = live replicas; none live waits for a broker', () => {
  const core = new ControllerCore({ controllerEpoch: 4 });
  let d = core.initialize(live(3), topic([1, 2]));
  assert.deepEqual(d.writes, []);
  d = core.brokersChanged(live(2, 3));
  assert.deepEqual(d.writes, [
    {
      kind: 'createState',
      topic: 't',
      partition: 0,
      state: { leader: 2, leaderEpoch: 0, isr: [2], controllerEpoch: 4, leaderRecoveryState: 0 },
    },
  ]);
});

test('offline election: next replica in assignment order that is live and in the ISR; epoch + 1', () => {
  const core = new ControllerCore({ controllerEpoch: 2 });
  core.initialize(live(1, 2, 3), topic([1, 2, 3], st(1, [3, 2, 1], 5)));
  const d = core.brokersChanged(live(2, 3));
  assert.deepEqual(d.writes, [
    {
      kind: 'updateState',
      topic: 't',
      partition: 0,
      state: { leader: 2, leaderEpoch: 6, isr: [3, 2], controllerEpoch: 2, leaderRecoveryState: 0 },
      expectedZkVersion: 3,
    },
  ]);
});

test('no ISR member left: leaderless with the last ISR member kept; unclean only when enabled', () => {
  const clean = new ControllerCore({ controllerEpoch: 2 });
  clean.initialize(live(1, 2), topic([1, 2], st(1, [1])));
  const d = clean.brokersChanged(live(2));
  assert.deepEqual(
    d.writes.map((w) => (w.kind === 'updateState' ? w.state : null)),
    [{ leader: -1, leaderEpoch: 1, isr: [1], controllerEpoch: 2, leaderRecoveryState: 0 }],
  );
  clean.stateWritten('t', 0, { leader: -1, leaderEpoch: 1, isr: [1], controllerEpoch: 2, leaderRecoveryState: 0 }, 4);
  // the ISR member returns and leads again
  const back = clean.brokersChanged(live(1, 2));
  assert.deepEqual(
    back.writes.map((w) => (w.kind === 'updateState' ? [w.state.leader, w.state.isr, w.state.leaderEpoch] : null)),
    [[1, [1], 2]],
  );

  const unclean = new ControllerCore({ controllerEpoch: 2, uncleanLeaderElection: () => true });
  unclean.initialize(live(1, 2), topic([1, 2], st(1, [1])));
  const u = unclean.brokersChanged(live(2));
  assert.deepEqual(
    u.writes.map((w) => (w.kind === 'updateState' ? w.state : null)),
    [{ leader: 2, leaderEpoch: 1, isr: [2], controllerEpoch: 2, leaderRecoveryState: 1 }],
  );
});

test('a bounced broker (new epoch) is a failure then a startup', () => {
  const core = new ControllerCore({ controllerEpoch: 1 });
  core.initialize(live(1, 2), topic([1, 2], st(1, [1, 2])));
  const d = core.brokersChanged(
    new Map([
      [1, 999],
      [2, 102],
    ]),
  );
  assert.deepEqual(
    d.writes.map((w) => (w.kind === 'updateState' ? [w.state.leader, w.state.isr] : null)),
    [[2, [2]]],
  );
});

test('a newer controller epoch in a state znode makes the controller resign', () => {
  const core = new ControllerCore({ controllerEpoch: 1 });
  core.initialize(live(1), topic([1], st(1, [1])));
  const d = core.stateRefreshed('t', 0, { state: { ...st(1, [1]), controllerEpoch: 7 }, zkVersion: 9 });
  assert.equal(d.controllerMoved, true);
});

test('deletion waits while a replica is offline, then stops replicas before deleting', () => {
  const core = new ControllerCore({ controllerEpoch: 1 });
  core.initialize(live(1), topic([1, 2], st(1, [1])));
  assert.deepEqual(core.deletionsRequested(['t'], true).writes, []);
  const d = core.brokersChanged(live(1, 2));
  assert.deepEqual(
    d.writes.filter((w) => w.kind === 'deleteTopic'),
    [{ kind: 'deleteTopic', topic: 't' }],
  );
  assert.ok(d.notifications.some((n) => n.kind === 'stopReplica' && n.deletePartition && n.partition === 0));
  assert.deepEqual(core.deletionsRequested(['unknown'], true).writes, [{ kind: 'removeDeletionMarker', topic: 'unknown' }]);
});
