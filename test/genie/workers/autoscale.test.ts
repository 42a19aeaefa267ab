// The autoscaler's decisions: grow under backlog or long waits, shrink when idle, cooldown, bounds.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type AutoscaleInput, type AutoscalePolicy, decideConcurrency } from '../../../src/genie/workers/autoscale.js';

const policy: AutoscalePolicy = { backlogPerSlotHigh: 4, queueWaitHighMs: 2000, idleShrinkMs: 30_000, cooldownMs: 5000 };
const base: AutoscaleInput = {
  concurrency: 4,
  min: 1,
  max: 16,
  backlog: 0,
  oldestWaitMs: 0,
  running: 4,
  idleMs: 0,
  now: 100_000,
  lastChangeAt: Number.NEGATIVE_INFINITY,
};

test('grows by half (at least one) when every slot is busy and the backlog per slot is high', () => {
  assert.deepEqual(decideConcurrency({ ...base, backlog: 17 }, policy), { concurrency: 6, reason: 'backlog 17 over 4 slots' });
  assert.equal(decideConcurrency({ ...base, backlog: 16 }, policy), null, 'exactly at the threshold: no change');
  assert.equal(decideConcurrency({ ...base, concurrency: 1, running: 1, backlog: 10 }, policy)?.concurrency, 2);
  assert.equal(decideConcurrency({ ...base, running: 3, backlog: 100 }, policy), null, 'a free slot: more slots would not help');
});

test('grows when the oldest runnable job waits too long', () => {
  const d = decideConcurrency({ ...base, backlog: 2, oldestWaitMs: 2500 }, policy);
  assert.equal(d?.concurrency, 6);
  assert.match(d?.reason ?? '', /queue wait 2500 ms/);
});

test('never past max; never below min', () => {
  assert.equal(decideConcurrency({ ...base, concurrency: 15, running: 15, backlog: 1000 }, policy)?.concurrency, 16);
  assert.equal(decideConcurrency({ ...base, concurrency: 16, running: 16, backlog: 1000 }, policy), null);
  assert.deepEqual(decideConcurrency({ ...base, concurrency: 20 }, policy), { concurrency: 16, reason: 'above-max' });
  assert.deepEqual(decideConcurrency({ ...base, concurrency: 0, lastChangeAt: base.now }, policy), { concurrency: 1, reason: 'below-min' });
  assert.equal(decideConcurrency({ ...base, concurrency: 2, running: 0, idleMs: 60_000, min: 2 }, policy), null);
  assert.throws(() => decideConcurrency({ ...base, min: 5, max: 4 }, policy));
});

test('shrinks by half after idleShrinkMs underused, not below what is running', () => {
  assert.deepEqual(decideConcurrency({ ...base, concurrency: 8, running: 1, idleMs: 30_000 }, policy), {
    concurrency: 4,
    reason: 'idle 30000 ms',
  });
  assert.equal(decideConcurrency({ ...base, concurrency: 8, running: 6, idleMs: 30_000 }, policy)?.concurrency, 6);
  assert.equal(decideConcurrency({ ...base, concurrency: 8, running: 1, idleMs: 29_999 }, policy), null);
});

test('cooldown: no change within cooldownMs of the last one', () => {
  const busy = { ...base, backlog: 100 };
  assert.equal(decideConcurrency({ ...busy, lastChangeAt: base.now - 4999 }, policy), null);
  assert.equal(decideConcurrency({ ...busy, lastChangeAt: base.now - 5000 }, policy)?.concurrency, 6);
  assert.equal(decideConcurrency({ ...base, concurrency: 8, running: 0, idleMs: 60_000, lastChangeAt: base.now - 1000 }, policy), null);
});
