// The snapshot writer (snapshotChunks) encodes each node from the table's columns and value store
// directly. These tests hold it to a plain reference built from the record codecs (StatPersisted,
// ACL, JuteWriter.buffer on a copy of the value, a Map of ACL lists, a path lookup per node, zlib's
// Adler-32 for the seals): byte for byte, chunk by chunk, on a tree with every kind of field value,
// both when drained at once and when the tree changes between chunks (a fuzzy snapshot).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deflateSync } from 'node:zlib';
import { OpCode } from '../../../src/zookeeper/protocol/constants.js';
import { CREATOR_ALL_ACL, OPEN_ACL_UNSAFE, READ_ACL_UNSAFE } from '../../../src/zookeeper/protocol/acls.js';
import { JuteWriter } from '../../../src/zookeeper/protocol/jute.js';
import { ACL, StatPersisted, type AclT } from '../../../src/zookeeper/protocol/records.js';
import { CONTAINER_OWNER, DataTree, ttlOwner } from '../../../src/zookeeper/server/datatree.js';
import { DIGEST_VERSION } from '../../../src/zookeeper/server/digest.js';
import { NO_SLOT } from '../../../src/zookeeper/server/nodeTable.js';
import { FILE_HEADER_BYTES, encodeFileHeader } from '../../../src/zookeeper/persistence/txnLog.js';
import { SNAP_MAGIC } from '../../../src/zookeeper/persistence/files.js';
import { parseSnapshot, serializeSnapshot, snapshotChunks } from '../../../src/zookeeper/persistence/snapshot.js';
import { Random } from '../../../src/sim/random.js';

/** The zxid the trees are at: nodes created above it are left out of a snapshot. */
const SNAP_ZXID = 0x7f_0000_0000;

const acl = (perms: number, scheme: string, id: string): AclT => ({ perms, id: { scheme, id } });
const ACL_LISTS: readonly (readonly AclT[])[] = [
  OPEN_ACL_UNSAFE,
  READ_ACL_UNSAFE,
  CREATOR_ALL_ACL,
  [acl(31, 'digest', 'user:abcdefghijklmnopqrstuvwxyz0=')],
  [acl(1, 'ip', '10.0.0.0/8'), acl(3, 'digest', 'a:b='), acl(31, 'world', 'anyone')],
  [acl(0, 'sasl', 'ünïcode@RÉALM')],
];
const OWNERS = [
  0n,
  0n,
  0n,
  0n,
  1n,
  0x1234_5678n,
  -1n,
  CONTAINER_OWNER,
  ttlOwner(5000),
  0x7fff_ffff_ffff_ffffn,
  -0x0123_4567_89ab_cdefn,
  0x0100_0000_0000_0001n,
];
/** null, then sizes around the 8-byte cells, the word-copy limit (256), the arena limit (4096), and a large value. */
const SIZES: readonly (number | null)[] = [null, 0, 1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 100, 255, 256, 257, 1000, 4095, 4096, 4097, 70_000];
const ZXIDS = [0, 1, 0xffff_ffff, 0x1_0000_0000, 0x1_0000_0001, 0x12_3456_789a, SNAP_ZXID - 1, SNAP_ZXID];
const LONGS = [...ZXIDS, 2 ** 53 - 1, 2 ** 52 + 3, -1, -(2 ** 32), -(2 ** 53 - 1), 1_700_000_000_000];
const INTS = [0, 1, -1, 2 ** 31 - 1, -(2 ** 31), 0x1234_5678, 65_536];

function bytes(rnd: Random, n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = rnd.int(0, 255);
  return b;
}

function value(rnd: Random, size = rnd.pick(SIZES)): Buffer | null {
  return size === null ? null : bytes(rnd, size);
}

/** A node of any field values; its czxid is at most SNAP_ZXID unless `late`. */
function fields(rnd: Random, late = false) {
  return {
    data: value(rnd),
    acl: rnd.pick(ACL_LISTS),
    czxid: late ? rnd.pick([SNAP_ZXID + 1, 2 ** 53 - 1]) : rnd.pick(ZXIDS),
    mzxid: rnd.pick(LONGS),
    pzxid: rnd.pick(LONGS),
    ctime: rnd.pick(LONGS),
    mtime: rnd.pick(LONGS),
    version: rnd.pick(INTS),
    cversion: rnd.pick(INTS),
    aversion: rnd.pick(INTS),
    ephemeralOwner: rnd.pick(OWNERS),
  };
}

/** The same tree for the same seed: every field kind, deep and wide, edited after the load (freed and reused slots and values). */
function buildTree(seed: number): DataTree {
  const rnd = new Random(seed);
  const tree = new DataTree();
  tree.beginLoad();
  const paths: string[] = [];
  const load = (path: string, late = false): void => {
    tree.loadNode(path, fields(rnd, late));
    paths.push(path);
  };
  load('/');
  load('/zookeeper');
  load('/zookeeper/quota');
  load('/zookeeper/config');
  let deep = '/deep';
  load(deep);
  for (let d = 0; d < 40; d++) {
    load(`${deep}/leaf`);
    deep = `${deep}/d${d}`;
    load(deep);
  }
  load('/ü');
  load('/ü/日本');
  load('/ü/日本/名前-😀');
  for (let i = 0; i < 1500; i++) {
    const parent = rnd.pick(paths);
    // A few nodes created after the snapshot's zxid: they and what lies under them are left out.
    load(`${parent === '/' ? '' : parent}/n${i}`, rnd.chance(0.01));
  }
  // Last among the root's children, so first to be written: its children wait on the stack.
  load('/wide');
  for (let i = 0; i < 3000; i++) load(`/wide/c${i}`);
  tree.finishLoad();
  tree.lastProcessedZxid = SNAP_ZXID;
  // Edits after the load: values change size (and cell), leaves go, new nodes take their slots,
  // an ACL list is interned after the others.
  let zxid = 100;
  for (let i = 0; i < 300; i++) setData(tree, rnd.pick(paths), value(rnd), zxid++);
  for (let i = 0; i < 200; i++) {
    const p = rnd.pick(paths);
    if (p.startsWith('/zookeeper') || p === '/') continue;
    tree.deleteNode(p, zxid++); // fails for a node with children: fine
  }
  for (let i = 0; i < 200; i++) create(tree, `/wide/new${i}`, value(rnd), rnd.pick(ACL_LISTS), rnd.pick(OWNERS), zxid++);
  for (let i = 0; i < 20; i++) setAcl(tree, rnd.pick(paths), [acl(i, 'digest', `late${i}:x=`)], zxid++);
  return tree;
}

function create(tree: DataTree, path: string, data: Buffer | null, list: readonly AclT[], owner: bigint, zxid: number): void {
  tree.createNode(path, data, list, owner, -1, zxid, 1_700_000_000_000 + zxid);
}

function setData(tree: DataTree, path: string, data: Buffer | null, zxid: number): void {
  tree.processTxn({
    header: { clientId: 1n, cxid: 1, zxid, time: 1_700_000_000_000 + zxid, type: OpCode.setData },
    body: { kind: 'setData', op: OpCode.setData, path, data, version: zxid & 0xff },
  });
}

function setAcl(tree: DataTree, path: string, list: AclT[], zxid: number): void {
  tree.processTxn({
    header: { clientId: 1n, cxid: 1, zxid, time: 1_700_000_000_000 + zxid, type: OpCode.setACL },
    body: { kind: 'setACL', op: OpCode.setACL, path, acl: list, version: 7 },
  });
}

/** Adler-32 by zlib: a zlib stream ends with the Adler-32 of its uncompressed bytes. */
function zlibAdler(b: Buffer): number {
  const z = deflateSync(b, { level: 0 });
  return z.readUInt32BE(z.length - 4);
}

/**
 * The reference: the snapshot format spelled out with the record codecs, chunked by the same rule
 * (a chunk ends after the node that takes it to `chunkBytes`), each chunk a copy.
 */
function* referenceChunks(tree: DataTree, sessions: ReadonlyMap<bigint, number>, chunkBytes: number): Generator<Buffer> {
  const zxid = tree.lastProcessedZxid;
  const emitted: Buffer[] = [];
  const w = new JuteWriter();
  w.raw(encodeFileHeader(SNAP_MAGIC, -1n));
  w.int(sessions.size);
  for (const [id, timeout] of sessions) {
    w.long(id);
    w.int(timeout);
  }
  const open = tree.internAcl(OPEN_ACL_UNSAFE);
  const refs = new Map<AclT[], bigint>([[open, -1n]]);
  const lists = [...tree.aclLists()].filter((l) => l !== open);
  w.int(lists.length);
  lists.forEach((l, i) => {
    refs.set(l, BigInt(i + 1));
    w.long(BigInt(i + 1));
    w.int(l.length);
    for (const a of l) ACL.encode(w, a);
  });
  const t = tree.table;
  const stack = ['/'];
  while (stack.length > 0) {
    const path = stack.pop()!;
    const slot = t.find(path);
    if (slot === NO_SLOT) continue;
    const node = tree.nodeAt(slot);
    if (node.czxid > zxid) continue;
    w.ustring(path === '/' ? '' : path);
    w.buffer(node.data);
    w.long(refs.get(node.acl) ?? -1n);
    StatPersisted.encode(w, node);
    for (const name of tree.childrenAt(slot)) stack.push(path === '/' ? `/${name}` : `${path}/${name}`);
    if (w.pos >= chunkBytes) {
      const chunk = w.toBuffer();
      emitted.push(chunk);
      yield chunk;
      w.reset();
    }
  }
  w.ustring('/');
  const sealAt = w.pos;
  w.longN(zlibAdler(Buffer.concat([...emitted, w.buf.subarray(0, w.pos)])));
  w.ustring('/');
  w.longN(zxid);
  w.int(DIGEST_VERSION);
  w.long(tree.digest.value);
  w.longN(zlibAdler(Buffer.concat([...emitted, w.buf.subarray(0, w.pos)])));
  w.ustring('/');
  assert.ok(w.pos > sealAt);
  yield w.toBuffer();
}

function firstDifference(a: Buffer, b: Buffer): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return n;
}

function assertSameBytes(actual: Buffer, expected: Buffer, what: string): void {
  if (actual.equals(expected)) return;
  assert.fail(`${what}: ${actual.length} bytes vs ${expected.length} expected, first difference at ${firstDifference(actual, expected)}`);
}

const SESSIONS = new Map([
  [1n, 30_000],
  [-0x0123_4567_89ab_cdefn, 4_000],
]);

test('the snapshot is byte for byte the reference encoding, in every chunk size', () => {
  const tree = buildTree(1);
  for (const chunkBytes of [1 << 20, 65_536, 777, 1]) {
    const ours: Buffer[] = [];
    // Each chunk is a view into a reused buffer: copied before the next is asked for.
    for (const c of snapshotChunks(tree, SESSIONS, chunkBytes)) ours.push(Buffer.from(c));
    const ref = [...referenceChunks(tree, SESSIONS, chunkBytes)];
    assert.equal(ours.length, ref.length, `chunk count at chunkBytes ${chunkBytes}`);
    ours.forEach((c, i) => {
      assertSameBytes(c, ref[i]!, `chunk ${i} of ${chunkBytes}-byte chunks`);
    });
  }
  const whole = serializeSnapshot(tree, SESSIONS);
  assertSameBytes(whole, Buffer.concat([...referenceChunks(tree, SESSIONS, 1 << 20)]), 'serializeSnapshot');
  // It holds what the test meant it to: many nodes, the big values, the late ones left out, and it parses.
  assert.ok(whole.length > FILE_HEADER_BYTES + 500_000, `only ${whole.length} bytes`);
  let written = 0;
  const owners = new Set<bigint>();
  const sizes = new Set<number>();
  const parsed = parseSnapshot(whole, (_, n) => {
    written++;
    owners.add(n.ephemeralOwner);
    sizes.add(n.data === null ? -1 : n.data.length);
  });
  assert.equal(parsed.nodeCount, written);
  assert.ok(written < tree.nodeCount && written > 3000, `${written} of ${tree.nodeCount} nodes written`);
  for (const o of OWNERS) assert.ok(owners.has(o), `owner ${o} in the snapshot`);
  for (const s of [-1, 0, 7, 256, 257, 4096, 4097, 70_000]) assert.ok(sizes.has(s), `a value of ${s} bytes in the snapshot`);
});

/** Changes to the tree between two chunks: the same ones on two trees built alike. */
function mutate(tree: DataTree, k: number): void {
  const rnd = new Random(1000 + k);
  const paths = [...tree.paths()].filter((p) => p !== '/' && !p.startsWith('/zookeeper'));
  let zxid = 10_000 + k * 100;
  for (let i = 0; i < 6; i++) {
    const p = rnd.pick(paths);
    switch (rnd.int(0, 5)) {
      case 0: // gone before it is written
        tree.deleteNode(p, zxid++);
        break;
      case 1: {
        // Gone, and its slot taken by a new node (created "before" the snapshot: written if reached).
        tree.deleteNode(p, zxid++);
        create(tree, `/wide/k${k}-${i}`, value(rnd), rnd.pick(ACL_LISTS), rnd.pick(OWNERS), zxid++);
        break;
      }
      case 2: {
        // Gone and back under the same path, after another node went: likely in another slot.
        const q = rnd.pick(paths);
        if (tree.deleteNode(p, zxid++) !== 0) break;
        tree.deleteNode(q, zxid++);
        create(tree, p, value(rnd), rnd.pick(ACL_LISTS), rnd.pick(OWNERS), zxid++);
        break;
      }
      case 3:
        setData(tree, p, value(rnd), zxid++);
        break;
      case 4: // a list interned after the ACL table was written
        setAcl(tree, p, [acl(k, 'digest', `k${k}-${i}:y=`)], zxid++);
        break;
      default: // created after the snapshot began: left out
        create(tree, `/wide/late${k}-${i}`, value(rnd), OPEN_ACL_UNSAFE, 0n, SNAP_ZXID + 1 + k);
    }
  }
}

/** After a reset: the tree starts over, and some paths still on the snapshot's stack come back with other ACL ids. */
function resetAndRefill(tree: DataTree): void {
  tree.reset();
  tree.lastProcessedZxid = SNAP_ZXID;
  const rnd = new Random(77);
  create(tree, '/wide', null, READ_ACL_UNSAFE, 0n, 1);
  for (let i = 0; i < 3000; i += 3) create(tree, `/wide/c${i}`, value(rnd), rnd.pick(ACL_LISTS), rnd.pick(OWNERS), 2 + i);
}

for (const [name, withReset] of [
  ['changes between chunks', false],
  ['a reset of the tree between chunks', true],
] as const) {
  test(`a fuzzy snapshot matches the reference through ${name}`, () => {
    const ours = buildTree(2);
    const theirs = buildTree(2);
    const a = snapshotChunks(ours, SESSIONS, 4096);
    const b = referenceChunks(theirs, SESSIONS, 4096);
    let chunks = 0;
    for (;;) {
      const x = a.next();
      const y = b.next();
      assert.equal(x.done, y.done, `both end together (chunk ${chunks})`);
      if (x.done) break;
      assertSameBytes(Buffer.from(x.value), y.value!, `chunk ${chunks}`);
      chunks++;
      if (withReset && chunks === 8) {
        resetAndRefill(ours);
        resetAndRefill(theirs);
      } else {
        mutate(ours, chunks);
        mutate(theirs, chunks);
      }
    }
    assert.ok(chunks > (withReset ? 20 : 100), `only ${chunks} chunks`);
  });
}
