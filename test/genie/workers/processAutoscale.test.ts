// `up`'s worker-process autoscaler decisions: grow with the group's backlog up to the partitions,
// shrink one at a time after an idle spell, cooldown, bounds.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  checkProcessBounds,
  decideProcesses,
  isIdle,
  type ProcessScaleInput,
  type ProcessScalePolicy,
} from '../../../src/genie/workers/processAutoscale.js';

const policy: ProcessScalePolicy = { backlogPerProcessHigh: 100, idleBacklogMax: 5, idleShrinkMs: 10_000, cooldownMs: 3000 };
const base: ProcessScaleInput = {
  processes: 1,
  min: 1,
  max: 4,
  lag: 0,
  queued: 0,
  partitions: 6,
  now: 100_000,
  lastChangeAt: Number.NEGATIVE_INFINITY,
  idleSince: undefined,
};

test('grows to as many processes as the backlog asks for, within max', () => {
  assert.deepEqual(decideProcesses({ ...base, lag: 150 }, policy), { processes: 2, reason: 'backlog 150 records over 1 processes' });
  assert.equal(decideProcesses({ ...base, lag: 250, queued: 60 }, policy)?.processes, 4);
  assert.equal(decideProcesses({ ...base, lag: 10_000 }, policy)?.processes, 4);
  // At max: nothing to add.
  assert.equal(decideProcesses({ ...base, processes: 4, lag: 10_000 }, policy), null);
  // Backlog within what the processes take: no change.
  assert.equal(decideProcesses({ ...base, processes: 2, lag: 200 }, policy), null);
});

test('never more processes than partitions of cluster-events, unless min asks for them', () => {
  assert.equal(decideProcesses({ ...base, partitions: 2, lag: 10_000 }, policy)?.processes, 2);
  assert.equal(decideProcesses({ ...base, processes: 2, partitions: 2, lag: 10_000 }, policy), null);
  assert.deepEqual(decideProcesses({ ...base, processes: 3, partitions: 2 }, policy), {
    processes: 2,
    reason: 'more than the 2 partitions of cluster-events',
  });
  assert.equal(decideProcesses({ ...base, min: 3, processes: 3, partitions: 2 }, policy), null);
  // Partitions unknown (metadata not read yet): max is the only cap.
  assert.equal(decideProcesses({ ...base, partitions: undefined, lag: 10_000 }, policy)?.processes, 4);
});

test('shrinks one process at a time after the idle spell, never below min', () => {
  const idle = { ...base, processes: 3, idleSince: base.now - 10_000 };
  assert.deepEqual(decideProcesses(idle, policy), { processes: 2, reason: 'idle 10000 ms' });
  assert.equal(decideProcesses({ ...idle, idleSince: base.now - 9_999 }, policy), null);
  assert.equal(decideProcesses({ ...idle, processes: 1 }, policy), null);
  assert.equal(decideProcesses({ ...idle, min: 3 }, policy), null);
});

test('cooldown holds load decisions, not bounds', () => {
  const recent = { ...base, lastChangeAt: base.now - 2999 };
  assert.equal(decideProcesses({ ...recent, lag: 10_000 }, policy), null);
  assert.equal(decideProcesses({ ...recent, processes: 3, idleSince: 0 }, policy), null);
  assert.deepEqual(decideProcesses({ ...recent, processes: 0 }, policy), { processes: 1, reason: 'below min 1' });
  assert.deepEqual(decideProcesses({ ...recent, processes: 5, partitions: 10 }, policy), { processes: 4, reason: 'above max 4' });
  assert.equal(decideProcesses({ ...base, lastChangeAt: base.now - 3000, lag: 10_000 }, policy)?.processes, 4);
});

test('idle means a backlog of at most idleBacklogMax records and queued jobs', () => {
  assert.equal(isIdle({ lag: 5, queued: 0, partitions: 3 }, policy), true);
  assert.equal(isIdle({ lag: 3, queued: 3, partitions: 3 }, policy), false);
  assert.equal(isIdle({ lag: -1, queued: 0, partitions: 3 }, policy), true);
});

test('bad bounds are refused with what is wrong', () => {
  assert.throws(() => checkProcessBounds(0, 3), /at least 1, got 0/);
  assert.throws(() => checkProcessBounds(3, 2), /most worker processes \(2\) must be an integer of at least the least \(3\)/);
  assert.throws(() => decideProcesses({ ...base, min: 2, max: 1 }, policy), /at least the least/);
  checkProcessBounds(1, 1);
});
