// The controller writes a decision's partition states concurrently in runs: consecutive state
// writes of distinct partitions; a second write of one partition, and topic deletions, start a
// new run, so their order is kept.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pipelinedRuns, stateWritesInFlightMax } from '../../../src/kafka/controller/controller.js';
import type { ControllerWrite } from '../../../src/kafka/controller/coreTypes.js';

const state = { leader: 1, leaderEpoch: 1, isr: [1], controllerEpoch: 1, version: 1 } as never;
const upd = (topic: string, partition: number): ControllerWrite => ({ kind: 'updateState', topic, partition, state, expectedZkVersion: 0 });
const label = (w: ControllerWrite): string => (w.kind === 'updateState' || w.kind === 'createState' ? `${w.topic}-${w.partition}` : w.kind);

test('state writes of distinct partitions form one run; a repeat or a deletion starts another', () => {
  const writes: ControllerWrite[] = [
    upd('a', 0),
    upd('a', 1),
    { kind: 'createState', topic: 'b', partition: 0, state },
    upd('a', 0),
    { kind: 'deleteTopic', topic: 'c' },
    { kind: 'removeDeletionMarker', topic: 'c' },
    upd('a', 2),
  ];
  assert.deepEqual(
    pipelinedRuns(writes).map((r) => r.map(label)),
    [['a-0', 'a-1', 'b-0'], ['a-0'], ['deleteTopic'], ['removeDeletionMarker'], ['a-2']],
  );
});

test(`a run holds at most ${stateWritesInFlightMax} writes`, () => {
  const writes = Array.from({ length: stateWritesInFlightMax + 1 }, (_, i) => upd('t', i));
  assert.deepEqual(
    pipelinedRuns(writes).map((r) => r.length),
    [stateWritesInFlightMax, 1],
  );
});
