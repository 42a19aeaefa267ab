import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DataTree } from '../../../src/zookeeper/server/datatree.js';
import { PrepStage, type WriteOp } from '../../../src/zookeeper/server/prep.js';
import { OpCode } from '../../../src/zookeeper/protocol/constants.js';
import { OPEN_ACL_UNSAFE, READ_ACL_UNSAFE } from '../../../src/zookeeper/protocol/acls.js';
import type { Txn } from '../../../src/zookeeper/server/txn.js';

// The digest prep attaches to a txn must be the tree's digest once the tree has applied it, however
// many txns are pending in between and however often they touch the same nodes (the shadow keeps
// one record per path, changed in place, reading tree values it has not replaced from the tree).
test('prep digests match the tree after each txn, through random pipelined writes', () => {
  let seed = 99;
  const rand = (n: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 8) % n;
  };
  const tree = new DataTree();
  const prep = new PrepStage(tree, { extendedTypesEnabled: true, skipAcl: false });
  // Real session ids: the server id in the top byte (0xff there would read as a TTL owner).
  const sessions = [0x0100_0000_0000_000bn, 0x7f00_0000_0000_0001n, 0x0300_0000_0000_0005n];
  const open = [...OPEN_ACL_UNSAFE];
  const paths = ['/a', '/b', '/a/x', '/a/y', '/a/x/q', '/b/z', '/c'];
  const value = (): Buffer | null => {
    const k = rand(6);
    if (k === 0) return null;
    const sizes = [0, 1, 100, 4000, 5000, 70_000];
    return Buffer.alloc(sizes[rand(sizes.length)]!, rand(256));
  };
  const randomOp = (): WriteOp => {
    const path = paths[rand(paths.length)]!;
    switch (rand(6)) {
      case 0:
      case 1:
        return { op: OpCode.create, req: { path, data: value(), acl: rand(4) === 0 ? [...READ_ACL_UNSAFE] : open, flags: rand(4) } };
      case 2:
        return { op: OpCode.delete, req: { path, version: -1 } };
      case 3:
        return { op: OpCode.setData, req: { path, data: value(), version: -1 } };
      case 4:
        return { op: OpCode.setACL, req: { path, acl: open, version: -1 } };
      default:
        return { op: OpCode.check, req: { path, version: rand(2) - 1 } };
    }
  };
  for (const id of sessions) {
    const t = prep.prepareRaw(OpCode.createSession, { kind: 'createSession', op: OpCode.createSession, timeOut: 5000 }, id, 0, 1);
    tree.processTxn(t);
    prep.applied(t.header.zxid);
  }
  let time = 1000;
  let checked = 0;
  let failedMultis = 0;
  for (let round = 0; round < 400; round++) {
    const batch: Txn[] = [];
    const n = 1 + rand(25);
    for (let i = 0; i < n; i++) {
      const sessionId = sessions[rand(sessions.length)]!;
      const ctx = { sessionId, cxid: i, auth: [], time: time++, checkSession() {} };
      const k = rand(20);
      if (k === 0) {
        const paths2Delete = prep.ephemeralsForClose(sessionId);
        batch.push(
          prep.prepareRaw(OpCode.closeSession, { kind: 'closeSession', op: OpCode.closeSession, paths2Delete }, sessionId, i, ctx.time),
        );
        // The session comes back so that later ephemerals have an owner.
        batch.push(
          prep.prepareRaw(OpCode.createSession, { kind: 'createSession', op: OpCode.createSession, timeOut: 5000 }, sessionId, 0, ctx.time),
        );
      } else if (k < 5) {
        const ops = Array.from({ length: 1 + rand(4) }, randomOp).filter((o) => o.op !== OpCode.setACL);
        const t = prep.prepareMulti(ops, ctx);
        if (t.body.kind === 'multi' && t.body.txns.some((s) => s.kind === 'error')) failedMultis++;
        batch.push(t);
      } else {
        const op = randomOp();
        if (op.op === OpCode.check) continue;
        batch.push(prep.prepareWrite(op, ctx));
      }
    }
    for (const t of batch) {
      tree.processTxn(t);
      prep.applied(t.header.zxid);
      if (t.body.kind === 'error') {
        assert.equal(t.digest, undefined);
        continue;
      }
      assert.equal(t.digest, tree.digest.value, `round ${round}, zxid ${t.header.zxid} (${t.body.kind})`);
      checked++;
    }
  }
  // The run must have exercised what it claims to: many txns checked, failing multis among them.
  assert.ok(checked > 2000, `only ${checked} txns checked`);
  assert.ok(failedMultis > 20, `only ${failedMultis} failed multis`);
});
