// The fetch purgatory's bounds: a full purgatory refuses at once (false) so the Fetch handler
// answers instead of looping; a park with no partitions still waits for its timer.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FetchPurgatory, fetchWaitersMax } from '../../../src/kafka/broker/fetchPurgatory.js';

test('a full purgatory refuses a new fetch at once; an append wakes the parked ones', async () => {
  const p = new FetchPurgatory();
  const parked = Array.from({ length: fetchWaitersMax }, () => p.park([FetchPurgatory.key('t', 0)], 60_000));
  assert.equal(p.size, fetchWaitersMax);
  assert.equal(await p.park([FetchPurgatory.key('t', 1)], 60_000), false);
  p.appended('t', 0);
  assert.deepEqual(new Set(await Promise.all(parked)), new Set([true]));
  assert.equal(p.size, 0);
});

test('a park naming no partition resolves by its timer, not at once', async () => {
  const p = new FetchPurgatory();
  // The purgatory's timers are unref'd (a parked fetch must not hold a stopping broker up).
  const keepAlive = setInterval(() => {}, 1000);
  try {
    let resolved = false;
    const parked = p.park([], 50).then((v) => {
      resolved = true;
      return v;
    });
    await Promise.resolve();
    await Promise.resolve();
    assert.equal(resolved, false, 'resolved before its timer');
    assert.equal(p.size, 1);
    assert.equal(await parked, true);
    assert.equal(p.size, 0);
  } finally {
    clearInterval(keepAlive);
  }
});
