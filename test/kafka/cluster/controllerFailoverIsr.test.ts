// Found by failover.test.ts on real processes: a broker killed together with the controller stayed
// in the ISR of partitions whose leader lived, because the new controller only repaired leaderless
// partitions. Kafka's replica state machine takes replicas on unregistered brokers offline at
// startup, which removes them from every ISR; the core must too (one write per partition).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ControllerCore, type TopicSnapshot } from '../../../src/kafka/controller/decisions.js';

const live = (...ids: number[]): Map<number, number> => new Map(ids.map((id) => [id, 100 + id]));
const st = (leader: number, isr: number[], leaderEpoch = 0) => ({ leader, leaderEpoch, isr, controllerEpoch: 1, leaderRecoveryState: 0 });

test('controller failover drops unregistered brokers from the ISR of partitions whose leader lives', () => {
  const topics = new Map<string, TopicSnapshot>([
    [
      't',
      {
        topicId: undefined,
        partitions: new Map([
          [0, [2, 3]],
          [1, [3, 2]],
          [2, [1, 2]],
        ]),
        states: new Map([
          [0, { state: st(2, [2, 3], 4), zkVersion: 7 }], // leader lives, 3 is gone: shrink
          [1, { state: st(3, [3, 2], 1), zkVersion: 2 }], // leader gone: one election, not two writes
          [2, { state: st(1, [1, 2]), zkVersion: 1 }], // all live: untouched
        ]),
      },
    ],
  ]);
  const core = new ControllerCore({ controllerEpoch: 5 });
  const d = core.initialize(live(1, 2), topics);
  const writes = d.writes.map((w) => (w.kind === 'updateState' ? { p: w.partition, state: w.state, v: w.expectedZkVersion } : w.kind));
  assert.deepEqual(
    writes.sort((a, b) => (typeof a === 'string' || typeof b === 'string' ? 0 : a.p - b.p)),
    [
      { p: 0, state: { leader: 2, leaderEpoch: 5, isr: [2], controllerEpoch: 5, leaderRecoveryState: 0 }, v: 7 },
      { p: 1, state: { leader: 2, leaderEpoch: 2, isr: [2], controllerEpoch: 5, leaderRecoveryState: 0 }, v: 2 },
    ],
  );
});
