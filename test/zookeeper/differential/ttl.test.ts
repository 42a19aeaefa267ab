// Differential: TTL nodes without extendedTypesEnabled (UNIMPLEMENTED), and the container/TTL
// reaper (a 100 ms check interval) against Apache ZooKeeper 3.8 and ours.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Pair, OpCode, type Entry } from './harness.js';
import { B, M } from './bodies.js';
import type { Ctx } from './harness.js';
import type { RawClient } from '../../helpers/rawClient.js';

let noTtl: Pair;
let reaping: Pair;
before(async () => {
  [noTtl, reaping] = await Promise.all([
    Pair.start({ sysProps: { 'zookeeper.extendedTypesEnabled': 'false' } }),
    // ZooKeeperServerMain reads these without the zookeeper. prefix.
    Pair.start({ sysProps: { 'znode.container.checkIntervalMs': '100' } }),
  ]);
});
after(async () => {
  await Promise.all([noTtl?.stop(), reaping?.stop()]);
});

test('TTL creates without extendedTypesEnabled: UNIMPLEMENTED, connection stays open', async () => {
  await noTtl.check('ttl-disabled', async (t) => {
    const c = await t.connect('connect');
    await t.begin(c);
    const p = t.prefix;
    await t.call(c, 'create prefix', OpCode.create, B.create(p));
    await t.call(c, 'createTTL flags 5', OpCode.createTTL, B.createTTL(`${p}/t`, '', 5, 1000));
    await t.call(c, 'createTTL flags 6', OpCode.createTTL, B.createTTL(`${p}/t`, '', 6, 1000));
    await t.call(c, 'createTTL flags 5 ttl 0', OpCode.createTTL, B.createTTL(`${p}/t`, '', 5, 0));
    await t.call(c, 'createTTL flags 0', OpCode.createTTL, B.createTTL(`${p}/t`, '', 0, 1000));
    await t.call(c, 'create flags 5', OpCode.create, B.create(`${p}/t`, '', 5));
    await t.call(c, 'create2 flags 6', OpCode.create2, B.create(`${p}/t`, '', 6));
    await t.call(
      c,
      'multi with createTTL',
      OpCode.multi,
      B.multi([M.create(`${p}/m`), { type: OpCode.createTTL, body: B.createTTL(`${p}/t`, '', 5, 1000) }]),
    );
    await t.call(c, 'container still works', OpCode.createContainer, B.create(`${p}/c`, '', 4));
    await t.state(c, 'open');
    await t.call(c, 'children', OpCode.getChildren2, B.getChildren(p));
    await t.close(c, 'close');
  });
});

/** Waits (with a deadline) until `path` is gone, polling with exists. */
async function waitGone(t: Ctx, c: RawClient, path: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    // A fixed xid: the number of polls differs between servers and must not shift later xids.
    c.send(0x7fff0000, OpCode.exists, B.exists(path));
    const r = await c.nextReply();
    if (r?.err !== 0) break;
    if (Date.now() > deadline) throw new Error(`[${t.name}] ${path} was not reaped`);
    await new Promise((res) => setTimeout(res, 50));
  }
}

test('the reaper deletes used-then-empty containers and expired TTL nodes, firing watches', async () => {
  const tr = await reaping.check('reaper', async (t) => {
    const w = await t.connect('watcher');
    await t.begin(w);
    const c = await t.connect('writer');
    const p = t.prefix;
    await t.call(c, 'create prefix', OpCode.create, B.create(p));
    await t.call(c, 'container', OpCode.createContainer, B.create(`${p}/c`, '', 4));
    await t.call(c, 'never-used container', OpCode.createContainer, B.create(`${p}/unused`, '', 4));
    await t.call(c, 'child', OpCode.create, B.create(`${p}/c/x`));
    await t.call(c, 'ttl node', OpCode.createTTL, B.createTTL(`${p}/ttl`, '', 5, 300));
    await t.call(c, 'ttl node with child', OpCode.createTTL, B.createTTL(`${p}/ttlp`, '', 5, 300));
    await t.call(c, 'child of ttl node', OpCode.create, B.create(`${p}/ttlp/x`));
    await t.call(w, 'exists watch container', OpCode.exists, B.exists(`${p}/c`, true));
    await t.call(w, 'exists watch ttl', OpCode.exists, B.exists(`${p}/ttl`, true));
    await t.call(w, 'child watch prefix', OpCode.getChildren, B.getChildren(p, true));
    await t.call(c, 'delete child', OpCode.delete, B.delete(`${p}/c/x`));
    await waitGone(t, w, `${p}/c`);
    await waitGone(t, w, `${p}/ttl`);
    await t.events(w, 'events', true);
    await t.call(w, 'children', OpCode.getChildren, B.getChildren(p));
    await t.call(w, 'deleteContainer op from a client', 20, B.path(`${p}/unused`));
    await t.close(w, 'close w');
    await t.close(c, 'close c');
  });
  const events = tr.find((e: Entry) => e.label === 'events')!.events as { type: number; path: string }[];
  assert.ok(events.some((e) => e.type === 2 && e.path.endsWith('/c')));
  assert.ok(events.some((e) => e.type === 2 && e.path.endsWith('/ttl')));
});

// Not differential: Apache ZooKeeper 3.8 exits on this request (createTTL with a non-TTL mode and
// ttl -1 passes validation, then TTL.toEphemeralOwner(-1) throws in the SyncThread, a critical
// thread). Ours refuses it with BADARGUMENTS and keeps serving (docs/COMPATIBILITY.md).
test('createTTL with a non-TTL mode and ttl -1: BADARGUMENTS (it kills Apache ZooKeeper 3.8)', async () => {
  const { RawClient } = await import('../../helpers/rawClient.js');
  for (const server of [noTtl.ours, reaping.ours]) {
    const c = await RawClient.connect(server.host, server.port);
    try {
      for (const flags of [0, 1, 2, 4]) {
        const r = await c.call(OpCode.createTTL, B.createTTL(`/ttl-crash-${flags}`, '', flags, -1));
        assert.equal(r.err, -8, `flags ${flags}`);
      }
      const e = await c.call(OpCode.exists, B.exists('/ttl-crash-0'));
      assert.equal(e.err, -101);
    } finally {
      await c.closeSession();
    }
  }
});
