// The column-wise znode store: fields survive the columns growing, freed slots are reused, and the
// sibling lists stay consistent through adds and removes in any order.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NO_SLOT, NodeTable, fromStoredValue, toStoredValue } from '../../../src/zookeeper/server/nodeTable.js';

const fields = (i: number) => ({
  value: i % 5 === 0 ? null : String.fromCharCode(i % 256, 255, 0),
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

test('fields survive growth past the quarter-growth threshold; children keep creation order', () => {
  const t = new NodeTable();
  const root = t.add('/', NO_SLOT, fields(0));
  const dirs = [t.add('/a', root, fields(1)), t.add('/b', root, fields(2))];
  const n = 300_000; // past 256k slots: the columns grow by a quarter at a time there
  for (let i = 0; i < n; i++) t.add(`/${i % 2 ? 'b' : 'a'}/n${i}`, dirs[i % 2]!, fields(i));
  assert.equal(t.size, n + 3);
  for (const i of [0, 1, 4, 262_143, 262_144, 299_999]) {
    const s = t.find(`/${i % 2 ? 'b' : 'a'}/n${i}`);
    const f = fields(i);
    assert.equal(t.valueAt(s), f.value);
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
  assert.equal(t.valueAt(again), fields(9).value);
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

test('stored values keep every byte value', () => {
  const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  assert.deepEqual(fromStoredValue(toStoredValue(bytes)), bytes);
  assert.deepEqual(fromStoredValue(toStoredValue(new Uint8Array(bytes).subarray(10, 20))), bytes.subarray(10, 20));
  assert.equal(toStoredValue(null), null);
  assert.deepEqual(fromStoredValue(toStoredValue(Buffer.alloc(0))), Buffer.alloc(0));
});
