import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hashPath, NO_SLOT, PathIndex } from '../../../src/zookeeper/server/pathIndex.js';

test('PathIndex agrees with a Map through random adds and removes, across resizes', () => {
  const index = new PathIndex();
  const model = new Map<string, number>();
  const freeSlots: number[] = [];
  let nextSlot = 0;
  let seed = 12345;
  const rand = (n: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed % n;
  };
  for (let step = 0; step < 60_000; step++) {
    const path = `/a/b${rand(4)}/n${rand(9000)}`;
    const slot = model.get(path);
    if (slot === undefined) {
      const s = freeSlots.pop() ?? nextSlot++;
      index.add(path, s);
      model.set(path, s);
    } else if (rand(3) > 0) {
      index.remove(slot);
      model.delete(path);
      freeSlots.push(slot);
    }
    if (step % 997 === 0) {
      for (const [p, s] of model) assert.equal(index.find(p), s, p);
      assert.equal(index.size, model.size);
    }
  }
  for (const [p, s] of model) {
    assert.equal(index.find(p), s);
    assert.equal(index.pathAt(s), p);
  }
  assert.equal(index.find('/a/b0/missing'), NO_SLOT);
  assert.deepEqual([...index.keys()].sort(), [...model.keys()].sort());
});

test('PathIndex finds every entry when all paths share one hash bucket run', () => {
  // Paths whose hashes collide in the low bits land in one probe run; removing from the middle
  // must keep the later ones reachable (backward shift).
  const index = new PathIndex();
  const sameHome: string[] = [];
  for (let k = 0; sameHome.length < 40; k++) {
    const p = `/x${k}`;
    if ((hashPath(p) & 1023) === (hashPath('/x0') & 1023)) sameHome.push(p);
  }
  sameHome.forEach((p, s) => {
    index.add(p, s);
  });
  for (let s = 0; s < sameHome.length; s += 3) index.remove(s);
  sameHome.forEach((p, s) => {
    assert.equal(index.find(p), s % 3 === 0 ? NO_SLOT : s, p);
  });
  index.clear();
  assert.equal(index.size, 0);
  assert.equal(index.find(sameHome[1]!), NO_SLOT);
});
