// Local sessions (zoo.cfg localSessionsEnabled / localSessionsUpgradingEnabled) on our
// in-process ensemble, driven with raw protocol frames so every reply's error and zxid is seen:
//  - a local session on a follower writes and reads persistent nodes; the leader never hears of
//    it (mntr session counts, dump), and it is unknown on every other member (SESSIONEXPIRED);
//  - its closeSession and its expiry are local: no txn (the leader's zxid does not move);
//  - an ephemeral create upgrades it to a global session first (upgrading on): the leader's dump
//    lists it with its ephemeral, which goes when the session closes;
//  - with upgrading off the create fails with EPHEMERALONLOCALSESSION (a multi holding one: that
//    op's result), after the leader logged an ErrorTxn for it.
// The same steps against a 3-node Apache ZooKeeper 3.8 ensemble: localSessionsApache.test.ts.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ZooKeeperTestingCluster } from '../../../src/cluster/zkTestingCluster.js';
import { parseZooCfg } from '../../../src/zookeeper/config.js';
import { OPEN_ACL_UNSAFE } from '../../../src/zookeeper/protocol/acls.js';
import { CreateMode, Err, OpCode } from '../../../src/zookeeper/protocol/constants.js';
import { JuteReader } from '../../../src/zookeeper/protocol/jute.js';
import { CreateRequest, GetDataRequest, MultiHeader } from '../../../src/zookeeper/protocol/records.js';
import { serverIdOfSession } from '../../../src/zookeeper/server/localSessions.js';
import { enc, encodeMulti, RawClient } from '../../helpers/rawClient.js';
import { ensembleReady, fourLetter, mntr, waitFor } from '../../helpers/net.js';

const create = (path: string, flags: number): Buffer =>
  enc(CreateRequest, { path, data: Buffer.from('x'), acl: [...OPEN_ACL_UNSAFE], flags });

async function withCluster(
  upgrading: boolean,
  body: (cluster: ZooKeeperTestingCluster, leader: number, follower: number) => Promise<void>,
): Promise<void> {
  const cluster = await ZooKeeperTestingCluster.start({
    extraConfig: {
      localSessionsEnabled: 'true',
      localSessionsUpgradingEnabled: String(upgrading),
      '4lw.commands.whitelist': '*',
    },
  });
  try {
    const { leader, follower } = await ensembleReady(cluster);
    await body(cluster, leader, follower);
  } finally {
    await cluster.close();
  }
}

/** The error of each op of a failed multi's reply (every result an ErrorResult). */
function multiErrors(body: Buffer): number[] {
  const r = new JuteReader(body);
  const out: number[] = [];
  for (;;) {
    const h = MultiHeader.decode(r);
    if (h.done) return out;
    out.push(r.int());
  }
}

const port = (cluster: ZooKeeperTestingCluster, id: number): number => cluster.get(id).clientPort;
const core = (cluster: ZooKeeperTestingCluster, id: number) => cluster.get(id).member!.shell.core;
const hex = (id: bigint): string => BigInt.asUintN(64, id).toString(16);

async function sessionCounts(cluster: ZooKeeperTestingCluster, id: number): Promise<{ local: number; global: number }> {
  const m = await mntr('127.0.0.1', port(cluster, id));
  return { local: Number(m.get('zk_local_sessions')), global: Number(m.get('zk_global_sessions')) };
}

test('zoo.cfg: local session keys default to false, parse as QuorumPeerConfig does', () => {
  const base = 'dataDir=/tmp/cg-local-sessions\nclientPort=2181\n';
  const d = parseZooCfg(base, '/tmp').options;
  assert.equal(d.localSessionsEnabled, false);
  assert.equal(d.localSessionsUpgradingEnabled, false);
  const p = parseZooCfg(`${base}localSessionsEnabled=TRUE\nlocalSessionsUpgradingEnabled=true\n`, '/tmp');
  assert.equal(p.options.localSessionsEnabled, true);
  assert.equal(p.options.localSessionsUpgradingEnabled, true);
  assert.ok(!p.warnings.some((w) => w.includes('localSessions')), p.warnings.join('\n'));
  assert.throws(() => parseZooCfg(`${base}localSessionsEnabled=yes\n`, '/tmp'), /localSessionsEnabled/);
});

test('local sessions with upgrading: local reads/writes, local close and expiry, upgrade on ephemeral', async () => {
  await withCluster(true, async (cluster, leader, follower) => {
    const other = cluster.members.find((m) => m.id !== leader && m.id !== follower)!.id;
    const before = await sessionCounts(cluster, leader);

    // A local session on a follower: its id names the follower; persistent writes and reads work.
    const a = await RawClient.connect('127.0.0.1', port(cluster, follower), { timeOut: 4000 });
    const sid = a.connectResponse!.sessionId;
    const passwd = a.connectResponse!.passwd;
    assert.notEqual(sid, 0n);
    assert.equal(serverIdOfSession(sid), follower);
    const cr = await a.call(OpCode.create, create('/persist', CreateMode.PERSISTENT));
    assert.equal(cr.err, 0);
    assert.ok(cr.zxid > 0);
    const gd = await a.call(OpCode.getData, enc(GetDataRequest, { path: '/persist', watch: false }));
    assert.equal(gd.err, 0);
    await waitFor(
      () => core(cluster, leader).tree.get('/persist') !== undefined,
      10_000,
      () => '/persist not on the leader',
    );

    // The leader (and the third member) never heard of the session.
    assert.equal(core(cluster, leader).sessions.sessions.has(sid), false);
    assert.equal(core(cluster, other).sessions.sessions.has(sid), false);
    assert.deepEqual(await sessionCounts(cluster, leader), before);
    assert.deepEqual(await sessionCounts(cluster, follower), { local: 1, global: before.global });
    assert.ok(!(await fourLetter('127.0.0.1', port(cluster, leader), 'dump')).includes(hex(sid)));

    // On another member the session is unknown: the reconnect is refused as expired.
    for (const id of [leader, other]) {
      const moved = await RawClient.connect('127.0.0.1', port(cluster, id), { sessionId: sid, passwd, timeOut: 4000 });
      assert.equal(moved.connectResponse?.sessionId, 0n, `member ${id} must not know the local session`);
      assert.equal(moved.connectResponse?.timeOut, 0);
      moved.socket.destroy();
    }

    // An ephemeral create upgrades it: a createSession txn first, then the create.
    const eph = await a.call(OpCode.create, create('/eph', CreateMode.EPHEMERAL));
    assert.equal(eph.err, 0);
    await waitFor(
      () => core(cluster, leader).tree.get('/eph') !== undefined,
      10_000,
      () => '/eph not on the leader',
    );
    assert.equal(core(cluster, leader).tree.get('/eph')!.ephemeralOwner, sid);
    assert.equal(core(cluster, leader).sessions.sessions.has(sid), true);
    const dump = await fourLetter('127.0.0.1', port(cluster, leader), 'dump');
    assert.ok(dump.includes(`0x${hex(sid)}:\n\t/eph`), dump);
    assert.deepEqual(await sessionCounts(cluster, leader), { local: 0, global: before.global + 1 });
    assert.deepEqual(await sessionCounts(cluster, follower), { local: 0, global: before.global + 1 });
    // A second ephemeral needs no second upgrade.
    assert.equal((await a.call(OpCode.create, create('/eph2', CreateMode.EPHEMERAL))).err, 0);

    // Closing the (now global) session removes its ephemerals everywhere.
    assert.equal((await a.call(OpCode.closeSession)).err, 0);
    await waitFor(
      () => cluster.members.every((m) => core(cluster, m.id).tree.get('/eph') === undefined),
      10_000,
      () => '/eph left behind',
    );
    a.socket.destroy();

    // Local sessions on the leader too: no txn for create or close.
    const zxid0 = core(cluster, leader).lastZxid;
    const b = await RawClient.connect('127.0.0.1', port(cluster, leader), { timeOut: 4000 });
    const bid = b.connectResponse!.sessionId;
    assert.equal(serverIdOfSession(bid), leader);
    assert.equal(core(cluster, leader).lastZxid, zxid0, 'a local session takes no zxid');
    assert.equal((await sessionCounts(cluster, leader)).local, 1);
    // A multi holding an ephemeral create upgrades it on the leader as well.
    const multi = encodeMulti([
      { type: OpCode.create, body: create('/m1', CreateMode.PERSISTENT) },
      { type: OpCode.create, body: create('/m2', CreateMode.EPHEMERAL) },
    ]);
    assert.equal((await b.call(OpCode.multi, multi)).err, 0);
    assert.equal(core(cluster, leader).tree.get('/m2')!.ephemeralOwner, bid);
    assert.equal(core(cluster, leader).durableSessions.has(bid), true);
    b.socket.destroy();

    // A local close takes no txn; the session is gone.
    const c = await RawClient.connect('127.0.0.1', port(cluster, follower), { timeOut: 4000 });
    const cid = c.connectResponse!.sessionId;
    await waitFor(
      () => core(cluster, leader).lastZxid === core(cluster, follower).lastZxid,
      10_000,
      () => 'follower behind',
    );
    const zxid1 = core(cluster, leader).lastZxid;
    const close = await c.call(OpCode.closeSession);
    assert.equal(close.err, 0);
    assert.equal(await c.waitClosed(5000), true, 'the connection closes after the close reply');
    assert.equal(core(cluster, follower).sessions.sessions.has(cid), false);
    assert.equal(core(cluster, leader).lastZxid, zxid1, 'a local close takes no zxid');

    // A silent local session expires on its own member, without a txn.
    const d = await RawClient.connect('127.0.0.1', port(cluster, follower), { timeOut: 500 });
    const did = d.connectResponse!.sessionId;
    assert.equal(await d.waitClosed(10_000), true, 'the expired local session is closed');
    assert.equal(core(cluster, follower).sessions.sessions.has(did), false);
    assert.equal(core(cluster, leader).lastZxid, zxid1, 'a local expiry takes no zxid');

    // Local sessions do not survive an election, even on a member that stays up.
    const e = await RawClient.connect('127.0.0.1', port(cluster, other), { timeOut: 4000 });
    const eid = e.connectResponse!.sessionId;
    const epasswd = e.connectResponse!.passwd;
    assert.equal(core(cluster, other).sessions.sessions.get(eid)?.local, true);
    await cluster.stopMember(leader);
    assert.equal(await e.waitClosed(20_000), true, 'the member drops its clients when the leader goes');
    await waitFor(
      () => cluster.leader() !== undefined && core(cluster, other).serving,
      20_000,
      () => 'no new leader',
    );
    const again = await RawClient.connect('127.0.0.1', port(cluster, other), { sessionId: eid, passwd: epasswd, timeOut: 4000 });
    assert.equal(again.connectResponse?.sessionId, 0n, 'the local session is gone after the election');
    again.socket.destroy();
  });
});

test('local sessions without upgrading: ephemerals fail with EPHEMERALONLOCALSESSION', async () => {
  await withCluster(false, async (cluster, leader, follower) => {
    for (const id of [follower, leader]) {
      const a = await RawClient.connect('127.0.0.1', port(cluster, id), { timeOut: 4000 });
      const sid = a.connectResponse!.sessionId;
      assert.equal((await a.call(OpCode.create, create(`/e${id}`, CreateMode.EPHEMERAL))).err, Err.EPHEMERALONLOCALSESSION);
      assert.equal((await a.call(OpCode.create2, create(`/e${id}`, CreateMode.EPHEMERAL_SEQUENTIAL))).err, Err.EPHEMERALONLOCALSESSION);
      const multi = encodeMulti([
        { type: OpCode.create, body: create(`/p${id}`, CreateMode.PERSISTENT) },
        { type: OpCode.create, body: create(`/e${id}`, CreateMode.EPHEMERAL) },
      ]);
      const m = await a.call(OpCode.multi, multi);
      // Per-op results: the create before it rolled back (0), the ephemeral refused by the leader's
      // prep (SESSIONEXPIRED for a follower's session; the leader's own names the refusal).
      assert.equal(m.err, 0);
      assert.deepEqual(multiErrors(m.body), [0, id === leader ? Err.EPHEMERALONLOCALSESSION : Err.SESSIONEXPIRED]);
      // Nothing of the refused requests was applied; the session is still local and usable.
      assert.equal(core(cluster, leader).tree.get(`/p${id}`), undefined);
      assert.equal(core(cluster, leader).tree.get(`/e${id}`), undefined);
      assert.equal((await a.call(OpCode.create, create(`/p${id}`, CreateMode.PERSISTENT))).err, 0);
      assert.equal(core(cluster, id).sessions.sessions.get(sid)?.local, true);
      assert.equal(core(cluster, leader).durableSessions.has(sid), false);
      assert.equal((await a.call(OpCode.closeSession)).err, 0);
      a.socket.destroy();
    }
  });
});
