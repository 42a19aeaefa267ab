import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Fifo } from '../../src/util/fifo.js';

// Stamps beyond 2^32, as zxids are.
const stampOf = (v: number): number => v * 0x1_0000_0000 + 7;

test('Fifo agrees with an array model through random pushes and shifts, across wraps and growth', () => {
  const q = new Fifo<number>();
  const model: number[] = [];
  let seed = 7;
  const rand = (n: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed % n;
  };
  let next = 0;
  for (let step = 0; step < 50_000; step++) {
    // Phases that mostly push, then mostly shift, so the ring wraps, grows and empties.
    const pushBias = Math.floor(step / 5000) % 2 === 0 ? 7 : 3;
    if (rand(10) < pushBias) {
      q.push(next, stampOf(next));
      model.push(next++);
    } else {
      assert.equal(q.shift(), model.shift());
    }
    assert.equal(q.length, model.length);
    assert.equal(q.peek(), model[0]);
    assert.equal(q.peekStamp(), model.length > 0 ? stampOf(model[0]!) : NaN);
  }
  assert.deepEqual(q.drain(), model);
  assert.equal(q.length, 0);
  assert.equal(q.shift(), undefined);
  assert.equal(q.peek(), undefined);
});

test('Fifo keeps order across growth after the head has wrapped, and after a large burst empties', () => {
  const q = new Fifo<number>();
  for (let i = 0; i < 10; i++) q.push(i);
  for (let i = 0; i < 8; i++) assert.equal(q.shift(), i);
  for (let i = 10; i < 100; i++) q.push(i); // wraps, then grows twice with the head mid-ring
  for (let i = 8; i < 100; i++) assert.equal(q.shift(), i);
  for (let i = 0; i < 10_000; i++) q.push(i);
  for (let i = 0; i < 10_000; i++) assert.equal(q.shift(), i);
  q.push(42);
  assert.equal(q.length, 1);
  assert.deepEqual(q.drain(), [42]);
});

test('Fifo lets go of what it shifted', async () => {
  // A ring slot that kept a shifted item would keep it alive; check through a WeakRef.
  const q = new Fifo<object>();
  let ref: WeakRef<object> | undefined;
  (() => {
    const o = { big: new Array(1000).fill(1) };
    ref = new WeakRef(o);
    q.push(o);
    q.push({});
    q.shift();
  })();
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  await new Promise((r) => setImmediate(r));
  gc();
  assert.equal(ref!.deref(), undefined);
});
