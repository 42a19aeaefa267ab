// The column-wise znode store: fields survive the columns growing, freed slots are reused, values keep their bytes, and the
// sibling lists stay consistent through adds and removes in any order.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NO_SLOT, NodeTable } from '../../../src/zookeeper/server/nodeTable.js';

const fields = (i: number) => ({
  data: i % 5 === 0 ? null : Buffer.from([i % 256, 255, 0]),
  aclId: i % 3,
  czxid: 0x1_0000_0000 + i,
  mzxid: 0x2_0000_0000 + i,
  pzxid: 0x3_0000_0000 + i,
  ctime: 1_700_000_000_000 + i,
  mtime: 1_700_000_000_001 + i,
  version: i,
  cversion: -i | 0,
  aversion: i % 7,
  ephemeralOwner: i % 4 === 0 ? BigInt(i) << 40n : 0n,
});

function children(t: NodeTable, slot: number): string[] {
  const out: string[] = [];
  for (let c = t.firstChildAt(slot); c !== NO_SLOT; c = t.nextSiblingAt(c)) out.push(t.nameAt(c));
  return out;
}

test('fields survive growth over many column chunks; children keep creation order', () => {
  const t = new NodeTable();
  const root = t.add('/', NO_SLOT, fields(0));
  const dirs = [t.add('/a', root, fields(1)), t.add('/b', root, fields(2))];
  const n = 300_000; // ~73 column chunks
  for (let i = 0; i < n; i++) t.add(`/${i % 2 ? 'b' : 'a'}/n${i}`, dirs[i % 2]!, fields(i));
  assert.equal(t.size, n + 3);
  for (const i of [0, 1, 4, 4093, 4094, 262_143, 262_144, 299_999]) {
    const s = t.find(`/${i % 2 ? 'b' : 'a'}/n${i}`);
    const f = fields(i);
    assert.deepEqual(t.valueAt(s), f.data);
    assert.equal(t.czxidAt(s), f.czxid);
    assert.equal(t.mzxidAt(s), f.mzxid);
    assert.equal(t.pzxidAt(s), f.pzxid);
    assert.equal(t.ctimeAt(s), f.ctime);
    assert.equal(t.mtimeAt(s), f.mtime);
    assert.equal(t.versionAt(s), f.version);
    assert.equal(t.cversionAt(s), f.cversion);
    assert.equal(t.aversionAt(s), f.aversion);
    assert.equal(t.ownerAt(s), f.ephemeralOwner);
    assert.equal(t.aclIdAt(s), f.aclId);
  }
  assert.equal(t.childCountAt(dirs[0]!), n / 2);
  assert.deepEqual(children(t, dirs[1]!).slice(0, 3), ['n1', 'n3', 'n5']);
});

test('removing first, middle and last children keeps the sibling list whole; slots are reused', () => {
  const t = new NodeTable();
  const root = t.add('/', NO_SLOT, fields(0));
  const names = ['c0', 'c1', 'c2', 'c3', 'c4'];
  const slots = names.map((c, i) => t.add(`/${c}`, root, fields(i + 1)));
  t.remove(slots[0]!);
  t.remove(slots[2]!);
  t.remove(slots[4]!);
  assert.deepEqual(children(t, root), ['c1', 'c3']);
  assert.equal(t.childCountAt(root), 2);
  assert.equal(t.find('/c2'), NO_SLOT);
  const again = t.add('/c5', root, fields(9));
  assert.ok(slots.includes(again), 'a freed slot is reused');
  assert.deepEqual(children(t, root), ['c1', 'c3', 'c5']);
  assert.deepEqual(t.valueAt(again), fields(9).data);
  assert.equal(t.ownerAt(again), fields(9).ephemeralOwner);
  t.remove(slots[1]!);
  t.remove(slots[3]!);
  t.remove(again);
  assert.deepEqual(children(t, root), []);
  assert.equal(t.firstChildAt(root), NO_SLOT);
});

test('a removed parent orphans its children instead of leaving them linked to a reusable slot', () => {
  const t = new NodeTable();
  const root = t.add('/', NO_SLOT, fields(0));
  const p = t.add('/p', root, fields(1));
  const c = t.add('/p/c', p, fields(2));
  t.remove(p);
  const other = t.add('/q', root, fields(3)); // reuses p's slot
  assert.equal(other, p);
  assert.deepEqual(children(t, other), []);
  t.remove(c); // must not touch /q's (empty) list
  assert.equal(t.childCountAt(other), 0);
  assert.deepEqual(children(t, root), ['q']);
});

test('values of every size survive set, replace and remove; freed value space is reused', () => {
  const t = new NodeTable();
  const root = t.add('/', NO_SLOT, fields(0));
  const value = (n: number, salt: number) => Buffer.from(Array.from({ length: n }, (_, k) => (k * 7 + salt) & 0xff));
  const sizes = [0, 1, 7, 8, 9, 100, 4095, 4096, 4097, 100_000];
  const slots = sizes.map((n, k) => t.add(`/v${k}`, root, { ...fields(k + 1), data: value(n, k) }));
  sizes.forEach((n, k) => {
    assert.deepEqual(t.valueAt(slots[k]!), value(n, k), `size ${n}`);
    assert.equal(t.dataLengthAt(slots[k]!), n);
    const into = Buffer.alloc(n + 3, 0xee);
    const intoView = new DataView(into.buffer, into.byteOffset, into.byteLength);
    assert.equal(t.copyValue(slots[k]!, intoView, 3), n);
    assert.deepEqual(into.subarray(3), value(n, k));
  });
  // Replace each with a value of another size, then of the same size class, then null.
  sizes.forEach((_, k) => {
    t.setValue(slots[k]!, value(sizes[(k + 3) % sizes.length]!, 50 + k));
  });
  sizes.forEach((_, k) => {
    assert.deepEqual(t.valueAt(slots[k]!), value(sizes[(k + 3) % sizes.length]!, 50 + k));
  });
  t.setValue(slots[5]!, value(101, 9)); // the same 8-byte size class as 100 bytes: overwritten in place
  assert.deepEqual(t.valueAt(slots[5]!), value(101, 9));
  t.setValue(slots[6]!, null);
  assert.equal(t.valueAt(slots[6]!), null);
  assert.equal(t.valueView(slots[6]!), null);
  assert.equal(t.dataLengthAt(slots[6]!), 0);
  // The other values are untouched by their neighbours' changes.
  sizes.forEach((_, k) => {
    if (k !== 5 && k !== 6) assert.deepEqual(t.valueAt(slots[k]!), value(sizes[(k + 3) % sizes.length]!, 50 + k));
  });
  // Removing and re-adding many same-size values does not grow the store.
  for (let k = 0; k < 2000; k++) t.add(`/w${k}`, root, { ...fields(k), data: value(100, k) });
  const reserved = t.valueBytesReserved;
  for (let round = 0; round < 3; round++) {
    for (let k = 0; k < 2000; k++) t.remove(t.find(`/w${k}`));
    for (let k = 0; k < 2000; k++) t.add(`/w${k}`, root, { ...fields(k), data: value(100, k + round) });
  }
  assert.equal(t.valueBytesReserved, reserved);
  for (let k = 0; k < 2000; k += 97) assert.deepEqual(t.valueAt(t.find(`/w${k}`)), value(100, k + 2));
});

test('valueAt is a copy that later changes do not reach', () => {
  const t = new NodeTable();
  const root = t.add('/', NO_SLOT, fields(0));
  const slot = t.add('/a', root, { ...fields(1), data: Buffer.from('first') });
  const before = t.valueAt(slot);
  t.setValue(slot, Buffer.from('other')); // same size class: overwritten in place
  assert.equal(before!.toString(), 'first');
  assert.equal(t.valueAt(slot)!.toString(), 'other');
});
