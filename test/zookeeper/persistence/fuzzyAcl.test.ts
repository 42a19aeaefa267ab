// A fuzzy snapshot (Apache writes the ACL table first, then walks the tree while writes go on) can
// hold a node whose ACL was added after the table was written. Apache loads it and the replayed
// create or setACL restores the ACL; we must too, not call the snapshot damaged.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OpCode } from '../../../src/zookeeper/protocol/constants.js';
import type { AclT } from '../../../src/zookeeper/protocol/records.js';
import { DataTree } from '../../../src/zookeeper/server/datatree.js';
import { loadSnapshot, serializeSnapshot } from '../../../src/zookeeper/persistence/snapshot.js';
import { adler32 } from '../../../src/zookeeper/persistence/txnLog.js';

const LATE_ACL: AclT[] = [{ perms: 31, id: { scheme: 'digest', id: 'late:Zm9vYmFyYmF6cXV4cXV1eA==' } }];
const OTHER_ACL: AclT[] = [{ perms: 1, id: { scheme: 'ip', id: '127.0.0.1' } }];

function createTxn(path: string, acl: AclT[], zxid: number) {
  return {
    header: { clientId: 1n, cxid: 1, zxid, time: 1_700_000_000_000 + zxid, type: OpCode.create },
    body: {
      kind: 'create' as const,
      op: OpCode.create,
      path,
      data: Buffer.from('x'),
      acl,
      nodeType: 'persistent' as const,
      parentCVersion: -1,
      ttl: -1,
    },
  };
}

/** A snapshot of a tree with /late (LATE_ACL), whose ACL table entry for LATE_ACL is renumbered so no node finds it. */
function fuzzySnapshot(): Buffer {
  const tree = new DataTree();
  tree.processTxn(createTxn('/late', LATE_ACL, 5));
  tree.processTxn(createTxn('/open', [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }], 6));
  const snap = Buffer.from(serializeSnapshot(tree, new Map()));
  // The table entry: ref (long), ACL count (int), perms (int), scheme (int length + bytes).
  const scheme = snap.indexOf(Buffer.from('digest'));
  assert.ok(scheme > 0, 'the ACL table holds the late ACL');
  const refAt = scheme - 4 - 4 - 4 - 8;
  snap.writeBigInt64BE(0x7777n, refAt);
  // Re-seal both checksums: each is a long plus "/" (int length + 1 byte); the digest section
  // (zxid long, version int, digest long) sits between them.
  const sealBytes = 8 + 4 + 1;
  for (const sealAt of [snap.length - sealBytes - (8 + 4 + 8) - sealBytes, snap.length - sealBytes]) {
    snap.writeBigInt64BE(BigInt(adler32(snap.subarray(0, sealAt))), sealAt);
  }
  return snap;
}

function aclOf(tree: DataTree, path: string): AclT[] {
  const node = tree.get(path);
  assert.ok(node, `${path} exists`);
  return node.acl;
}

test('a node naming an ACL the fuzzy snapshot table lacks loads with an empty ACL; the replayed create restores it', () => {
  const tree = new DataTree();
  loadSnapshot(fuzzySnapshot(), tree);
  assert.deepEqual(tree.aclPendingPaths(), ['/late']);
  assert.deepEqual(aclOf(tree, '/late'), [], 'no one but a super user may touch it until the replay');
  assert.equal(aclOf(tree, '/open')[0]?.id.scheme, 'world');
  // Replay after the snapshot: the create finds the node (NODEEXISTS) and gives it its ACL.
  const r = tree.processTxn(createTxn('/late', LATE_ACL, 7));
  assert.ok(r.err < 0, 'the create itself still fails as NODEEXISTS');
  assert.deepEqual(aclOf(tree, '/late'), LATE_ACL);
  assert.deepEqual(tree.aclPendingPaths(), []);
});

test('a replayed setACL also resolves a node whose ACL the snapshot table lacks', () => {
  const tree = new DataTree();
  loadSnapshot(fuzzySnapshot(), tree);
  tree.processTxn({
    header: { clientId: 1n, cxid: 2, zxid: 8, time: 1_700_000_000_008, type: OpCode.setACL },
    body: { kind: 'setACL', op: OpCode.setACL, path: '/late', acl: OTHER_ACL, version: 1 },
  });
  assert.deepEqual(aclOf(tree, '/late'), OTHER_ACL);
  assert.deepEqual(tree.aclPendingPaths(), []);
});
