// Interop: node-zookeeper-client (NZC) 1.1.3 against our server (in-process).
//
// NZC's protocol quirks this exercises: no readOnly byte in ConnectRequest (so none may come
// back), xids starting at 0, getChildren always sent as getChildren2 (op 12), SetWatches v1 (op
// 101) sent with an ordinary xid on reconnect, pings every T/3, and SESSION_EXPIRED only when a
// reconnect gets a timeOut<=0 ConnectResponse. Reconnect and expiry go through a loopback TCP
// proxy that can cut connections and refuse new ones.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { digestOf } from '../../src/zookeeper/protocol/acls.js';
import { startOurZooKeeper } from '../helpers/ourZk.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcpProxy.js';
import { waitFor } from '../helpers/net.js';
import { replyHeader, requestHeader, startSniffProxy, type SniffProxy } from './helpers/sniffProxy.js';
import { ACL, codeOf, CreateMode, Event, Exception, Id, long, Nzc, Permission, State, WatchProbe } from './helpers/nzc.js';

type Server = Awaited<ReturnType<typeof startOurZooKeeper>>;

describe('node-zookeeper-client 1.1.3 against clustergenie', { timeout: 60_000 }, () => {
  let zk: Server;
  const clients: Nzc[] = [];
  const proxies: TcpProxy[] = [];
  const sniffers: SniffProxy[] = [];

  /** A client that is closed after the suite. */
  async function client(connectString = zk.connectString, opts: Parameters<typeof Nzc.connect>[1] = {}): Promise<Nzc> {
    const c = await Nzc.connect(connectString, opts);
    clients.push(c);
    return c;
  }
  async function proxy(): Promise<TcpProxy> {
    const p = await startTcpProxy(zk.host, zk.port);
    proxies.push(p);
    return p;
  }
  async function sniffer(host: string, port: number): Promise<SniffProxy> {
    const p = await startSniffProxy(host, port);
    sniffers.push(p);
    return p;
  }

  before(async () => {
    // A short tick so sessions can be short (minSessionTimeout = 2 ticks) for the expiry test.
    zk = await startOurZooKeeper({ extraConfig: { tickTime: '100', maxSessionTimeout: '30000' } });
  });

  after(async () => {
    for (const p of proxies) p.unblock();
    await Promise.all(clients.map((c) => c.close().catch(() => c.destroy())));
    await Promise.all([...proxies, ...sniffers].map((p) => p.close()));
    await zk?.stop();
  });

  it('connects: handshake without readOnly byte both ways, xids from 0, getChildren as op 12', async () => {
    const sn = await sniffer(zk.host, zk.port);
    const c = await client(sn.connectString, { sessionTimeout: 5000 });
    assert.equal(c.client.getState(), State.SYNC_CONNECTED);
    assert.equal(c.client.getSessionTimeout(), 5000);
    assert.notEqual(c.sessionId, 0n);
    assert.equal(c.client.getSessionPassword().length, 16);
    assert.ok(zk.shell.core.sessions.isActive(c.sessionId), 'the server knows the session');

    assert.ok(await c.exists('/'));
    assert.deepEqual((await c.getChildren('/zookeeper')).children.sort(), ['config', 'quota']);
    const { toServer, toClient } = sn.connections[0]!;
    // ConnectRequest: version, lastZxid, timeOut, sessionId, passwd(4+16) = 44 bytes, no readOnly.
    assert.equal(toServer[0]!.length, 44);
    // ConnectResponse mirrors it: version, timeOut, sessionId, passwd(4+16) = 36 bytes.
    assert.equal(toClient[0]!.length, 36);
    assert.equal(toClient[0]!.readInt32BE(4), 5000);
    assert.equal(toClient[0]!.readBigInt64BE(8), c.sessionId);
    assert.equal(toClient[0]!.readInt32BE(16), 16);
    assert.deepEqual(requestHeader(toServer[1]!), { xid: 0, type: 3 }, 'NZC counts xids from 0');
    assert.deepEqual(requestHeader(toServer[2]!), { xid: 1, type: 12 }, 'getChildren goes out as getChildren2');
    assert.deepEqual([replyHeader(toClient[1]!).xid, replyHeader(toClient[1]!).err], [0, 0]);
    assert.deepEqual([replyHeader(toClient[2]!).xid, replyHeader(toClient[2]!).err], [1, 0]);

    // Clamped to maxSessionTimeout.
    const big = await client(zk.connectString, { sessionTimeout: 120_000 });
    assert.equal(big.client.getSessionTimeout(), 30_000);
    assert.deepEqual(c.states, ['connected']);
  });

  it('create in every mode NZC supports, mkdirp, and the create errors', async () => {
    const c = await client();
    assert.equal(await c.create('/nzc-create', Buffer.from('p')), '/nzc-create');
    assert.equal(await c.create('/nzc-create/eph', Buffer.from('e'), CreateMode.EPHEMERAL), '/nzc-create/eph');
    assert.equal(await c.create('/nzc-create/pseq-', null, CreateMode.PERSISTENT_SEQUENTIAL), '/nzc-create/pseq-0000000001');
    assert.equal(await c.create('/nzc-create/eseq-', null, CreateMode.EPHEMERAL_SEQUENTIAL), '/nzc-create/eseq-0000000002');
    assert.equal(await c.create('/nzc-create/empty', Buffer.alloc(0)), '/nzc-create/empty');
    assert.equal(await c.create('/nzc-create/null'), '/nzc-create/null');

    const eph = await c.exists('/nzc-create/eph');
    assert.ok(eph);
    assert.equal(long(eph.ephemeralOwner), c.sessionId);
    const pseq = await c.exists('/nzc-create/pseq-0000000001');
    assert.equal(long(pseq!.ephemeralOwner), 0n);
    assert.equal(long((await c.exists('/nzc-create/eseq-0000000002'))!.ephemeralOwner), c.sessionId);

    // Created without data: null on the wire (-1 length) and back; empty data stays empty.
    const empty = await c.getData('/nzc-create/empty');
    assert.deepEqual(empty.data, Buffer.alloc(0));
    assert.equal(empty.stat.dataLength, 0);
    const nul = await c.getData('/nzc-create/null');
    assert.equal(nul.data, undefined, 'NZC decodes a -1 buffer as undefined');
    assert.equal(nul.stat.dataLength, 0);

    assert.equal(await c.mkdirp('/nzc-create/deep/er/path'), '/nzc-create/deep/er/path');
    assert.ok(await c.exists('/nzc-create/deep/er'));

    assert.equal(await codeOf(c.create('/nzc-create')), Exception.NODE_EXISTS);
    assert.equal(await codeOf(c.create('/nzc-missing/child')), Exception.NO_NODE);
    assert.equal(await codeOf(c.create('/nzc-create/eph/child')), Exception.NO_CHILDREN_FOR_EPHEMERALS);
    assert.equal(
      await codeOf(c.create('/nzc-bad-acl', null, CreateMode.PERSISTENT, [new ACL(Permission.ALL, new Id('nosuch', 'x'))])),
      Exception.INVALID_ACL,
    );
    // `auth` without any authenticated id is invalid.
    assert.equal(await codeOf(c.create('/nzc-bad-acl', null, CreateMode.PERSISTENT, ACL.CREATOR_ALL_ACL)), Exception.INVALID_ACL);
  });

  it('getData/setData/remove with versions, exists and getChildren (op 12) with stats', async () => {
    const c = await client();
    await c.create('/nzc-data', Buffer.from('v0'));
    const g0 = await c.getData('/nzc-data');
    assert.deepEqual(g0.data, Buffer.from('v0'));
    assert.equal(g0.stat.version, 0);
    assert.equal(g0.stat.dataLength, 2);
    assert.equal(long(g0.stat.czxid), long(g0.stat.mzxid));

    const s1 = await c.setData('/nzc-data', Buffer.from('v1'), 0);
    assert.equal(s1.version, 1);
    assert.ok(long(s1.mzxid) > long(g0.stat.mzxid));
    assert.equal(long(s1.czxid), long(g0.stat.czxid));
    assert.equal(await codeOf(c.setData('/nzc-data', Buffer.from('stale'), 0)), Exception.BAD_VERSION);
    const s2 = await c.setData('/nzc-data', Buffer.from('any'), -1);
    assert.equal(s2.version, 2);
    assert.deepEqual((await c.getData('/nzc-data')).data, Buffer.from('any'));
    assert.equal(await codeOf(c.setData('/nzc-nonexistent', Buffer.alloc(0), -1)), Exception.NO_NODE);
    assert.equal(await codeOf(c.getData('/nzc-nonexistent')), Exception.NO_NODE);

    assert.equal(await c.exists('/nzc-nonexistent'), null);
    const ex = await c.exists('/nzc-data');
    assert.equal(ex!.version, 2);

    await c.create('/nzc-data/a');
    await c.create('/nzc-data/b');
    await c.create('/nzc-data/c');
    await c.remove('/nzc-data/c', 0);
    const kids = await c.getChildren('/nzc-data');
    assert.deepEqual(kids.children.sort(), ['a', 'b']);
    assert.equal(kids.stat.numChildren, 2);
    assert.equal(kids.stat.cversion, 4, '3 creates + 1 delete');
    assert.equal(kids.stat.version, 2);
    assert.deepEqual((await c.getChildren('/nzc-data/a')).children, []);
    assert.equal(await codeOf(c.getChildren('/nzc-nonexistent')), Exception.NO_NODE);

    assert.equal(await codeOf(c.remove('/nzc-data', -1)), Exception.NOT_EMPTY);
    assert.equal(await codeOf(c.remove('/nzc-data/a', 5)), Exception.BAD_VERSION);
    await c.remove('/nzc-data/a', 0);
    await c.remove('/nzc-data/b', -1);
    await c.remove('/nzc-data', 2);
    assert.equal(await c.exists('/nzc-data'), null);
    assert.equal(await codeOf(c.remove('/nzc-data', -1)), Exception.NO_NODE);
  });

  it('watches fire across clients: data, children, exists (created and deleted), one-shot', async () => {
    const w = await client();
    const x = await client();
    await x.create('/nzc-watch', Buffer.from('0'));

    const data = new WatchProbe();
    await w.getData('/nzc-watch', data.fn);
    const children = new WatchProbe();
    await w.getChildren('/nzc-watch', children.fn);
    const created = new WatchProbe();
    assert.equal(await w.exists('/nzc-watch/new', created.fn), null);

    await x.setData('/nzc-watch', Buffer.from('1'));
    const e1 = await data.next('data watch');
    assert.equal(e1.getType(), Event.NODE_DATA_CHANGED);
    assert.equal(e1.getPath(), '/nzc-watch');

    await x.create('/nzc-watch/new');
    const e2 = await created.next('exists watch');
    assert.equal(e2.getType(), Event.NODE_CREATED);
    assert.equal(e2.getPath(), '/nzc-watch/new');
    const e3 = await children.next('child watch');
    assert.equal(e3.getType(), Event.NODE_CHILDREN_CHANGED);
    assert.equal(e3.getPath(), '/nzc-watch');

    // exists on an existing node and getData both watch for deletion.
    const deletedA = new WatchProbe();
    const deletedB = new WatchProbe();
    assert.ok(await w.exists('/nzc-watch/new', deletedA.fn));
    await w.getData('/nzc-watch/new', deletedB.fn);
    await x.remove('/nzc-watch/new');
    assert.equal((await deletedA.next('exists watch (delete)')).getType(), Event.NODE_DELETED);
    assert.equal((await deletedB.next('data watch (delete)')).getType(), Event.NODE_DELETED);

    // One-shot: more writes after the first event deliver nothing to the fired watchers. A fresh
    // watch set after those writes fires on the next one, so by then the old ones had their chance.
    await x.setData('/nzc-watch', Buffer.from('2'));
    await x.create('/nzc-watch/again');
    const fresh = new WatchProbe();
    await w.getData('/nzc-watch', fresh.fn);
    await x.setData('/nzc-watch', Buffer.from('3'));
    await fresh.next('fresh data watch');
    assert.equal(data.events.length, 1);
    assert.equal(children.events.length, 1);
    assert.equal(created.events.length, 1);
  });

  it('transactions (multi): success results, and an atomic failure with per-op error codes', async () => {
    const c = await client();
    await c.create('/nzc-tx', Buffer.from('t'));
    // NZC's Transaction turns version 0 into -1 (`version || -1`), so only non-zero versions
    // are real checks here.
    const ok = await c.commit(
      c.client
        .transaction()
        .create('/nzc-tx/a', Buffer.from('a'))
        .create('/nzc-tx/a/b', null, ACL.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT)
        .create('/nzc-tx/s-', CreateMode.PERSISTENT_SEQUENTIAL)
        .setData('/nzc-tx', Buffer.from('t1'))
        .check('/nzc-tx', 1)
        .remove('/nzc-tx/a/b'),
    );
    assert.equal(ok.error, null);
    assert.deepEqual(
      ok.results.map((r) => ({ type: r.type, path: r.path })),
      [
        { type: 1, path: '/nzc-tx/a' },
        { type: 1, path: '/nzc-tx/a/b' },
        { type: 1, path: '/nzc-tx/s-0000000001' },
        { type: 5, path: undefined },
        { type: 13, path: undefined },
        { type: 2, path: undefined },
      ],
    );
    assert.equal(ok.results[3]!.stat!.version, 1);
    // All sub-ops share one zxid.
    const a = await c.exists('/nzc-tx/a');
    assert.equal(long(a!.czxid), long(ok.results[3]!.stat!.mzxid));
    assert.equal(await c.exists('/nzc-tx/a/b'), null);

    const bad = await c.commit(c.client.transaction().create('/nzc-tx/never').check('/nzc-tx', 7).setData('/nzc-tx', Buffer.from('x')));
    assert.ok(bad.error instanceof Exception);
    assert.equal(bad.error.getCode(), Exception.BAD_VERSION);
    assert.deepEqual(bad.results, [
      { type: -1, err: 0 },
      { type: -1, err: Exception.BAD_VERSION },
      { type: -1, err: Exception.RUNTIME_INCONSISTENCY },
    ]);
    assert.equal(await c.exists('/nzc-tx/never'), null, 'nothing of a failed multi is applied');
    assert.equal((await c.getData('/nzc-tx')).stat.version, 1);

    const noNode = await c.commit(c.client.transaction().remove('/nzc-tx/missing'));
    assert.equal(noNode.error?.getCode(), Exception.NO_NODE);
  });

  it('ACLs with digest auth: addAuthInfo, NOAUTH for others, getACL/setACL with versions, auth failure', async () => {
    const alice = await client();
    alice.client.addAuthInfo('digest', Buffer.from('alice:secret'));
    const aliceId = digestOf('alice:secret');
    await alice.create('/nzc-acl', Buffer.from('secret'), CreateMode.PERSISTENT, [
      new ACL(Permission.ALL, new Id('digest', aliceId)),
      new ACL(Permission.READ, new Id('world', 'anyone')),
    ]);
    // `auth` expands to the caller's authenticated ids.
    await alice.create('/nzc-acl-auth', Buffer.from('mine'), CreateMode.PERSISTENT, ACL.CREATOR_ALL_ACL);

    const got = await alice.getACL('/nzc-acl');
    assert.deepEqual(
      got.acls.map((a) => [a.permission, a.id.scheme, a.id.id]),
      [
        [31, 'digest', aliceId],
        [1, 'world', 'anyone'],
      ],
    );
    assert.equal(got.stat.aversion, 0);
    assert.deepEqual(
      (await alice.getACL('/nzc-acl-auth')).acls.map((a) => [a.permission, a.id.scheme, a.id.id]),
      [[31, 'digest', aliceId]],
    );

    const other = await client();
    assert.deepEqual((await other.getData('/nzc-acl')).data, Buffer.from('secret'), 'world has READ');
    assert.equal(await codeOf(other.setData('/nzc-acl', Buffer.from('x'))), Exception.NO_AUTH);
    assert.equal(await codeOf(other.create('/nzc-acl/child')), Exception.NO_AUTH);
    assert.equal(await codeOf(other.getData('/nzc-acl-auth')), Exception.NO_AUTH);
    assert.equal(await codeOf(other.getACL('/nzc-acl-auth')), Exception.NO_AUTH);
    assert.equal(await codeOf(other.setACL('/nzc-acl', ACL.OPEN_ACL_UNSAFE)), Exception.NO_AUTH);
    // READ without ADMIN: digest ids are masked.
    assert.deepEqual(
      (await other.getACL('/nzc-acl')).acls.map((a) => a.id.id),
      ['alice:x', 'anyone'],
    );

    const wrong = await client();
    wrong.client.addAuthInfo('digest', Buffer.from('alice:wrong'));
    assert.equal(await codeOf(wrong.getData('/nzc-acl-auth')), Exception.NO_AUTH);

    // alice may write, and setACL checks the ACL version.
    await alice.setData('/nzc-acl', Buffer.from('v1'));
    assert.equal(await codeOf(alice.setACL('/nzc-acl', ACL.OPEN_ACL_UNSAFE, 3)), Exception.BAD_VERSION);
    const st = await alice.setACL('/nzc-acl', ACL.OPEN_ACL_UNSAFE, 0);
    assert.equal(st.aversion, 1);
    assert.equal(st.version, 1, 'setACL leaves the data version');
    await other.setData('/nzc-acl', Buffer.from('now open'));

    // An unknown scheme is AUTHFAILED: the server answers -115 and closes; NZC stops.
    const bad = await client();
    bad.client.addAuthInfo('nosuchscheme', Buffer.from('x'));
    await bad.waitState('authenticationFailed');
    // Then the server closes the connection and NZC does not reconnect.
    await bad.waitState('disconnected');
    assert.deepEqual(bad.states, ['connected', 'authenticationFailed', 'disconnected']);
    assert.notEqual(await codeOf(bad.exists('/')), 0);
  });

  it("closing a session removes its ephemerals at once; another client's watches see it", async () => {
    const owner = await client();
    const observer = await client();
    await owner.create('/nzc-close');
    await owner.create('/nzc-close/e', null, CreateMode.EPHEMERAL);
    await owner.create('/nzc-close/s-', null, CreateMode.EPHEMERAL_SEQUENTIAL);
    const gone = new WatchProbe();
    assert.ok(await observer.exists('/nzc-close/e', gone.fn));
    const kids = new WatchProbe();
    assert.deepEqual((await observer.getChildren('/nzc-close', kids.fn)).children.sort(), ['e', 's-0000000001']);

    const sid = owner.sessionId;
    await owner.close();
    const ev = await gone.next('NodeDeleted after close');
    assert.equal(ev.getType(), Event.NODE_DELETED);
    assert.equal(ev.getPath(), '/nzc-close/e');
    assert.equal((await kids.next('NodeChildrenChanged after close')).getType(), Event.NODE_CHILDREN_CHANGED);
    assert.deepEqual((await observer.getChildren('/nzc-close')).children, []);
    assert.equal(zk.shell.core.sessions.isActive(sid), false);
  });

  it('an idle client stays connected: NZC pings every T/3 and the server answers', async () => {
    const c = await client(zk.connectString, { sessionTimeout: 900 });
    assert.equal(c.client.getSessionTimeout(), 900);
    await c.create('/nzc-idle', null, CreateMode.EPHEMERAL);
    const conn = zk.shell.core.sessionConns.get(c.sessionId);
    assert.ok(conn, 'the server has a connection for the session');
    const start = conn.stats.packetsReceived;
    // More than a session timeout's worth of pings (one per 300 ms), with no other traffic.
    await waitFor(
      () => conn.stats.packetsReceived >= start + 4,
      10_000,
      () => `pings (got ${conn.stats.packetsReceived - start})`,
    );
    assert.deepEqual(c.states, ['connected']);
    assert.ok(zk.shell.core.sessions.isActive(c.sessionId));
    assert.ok(await c.exists('/nzc-idle'));
  });

  it('reconnects through a cut connection with the same session; SetWatches re-arms and reconciles watches', async () => {
    const px = await proxy();
    const sn = await sniffer(px.host, px.port);
    const c = await client(sn.connectString, { sessionTimeout: 4000 });
    const writer = await client();
    await writer.create('/nzc-rc');
    await writer.create('/nzc-rc/data', Buffer.from('0'));
    await writer.create('/nzc-rc/changed', Buffer.from('0'));
    await c.create('/nzc-rc/eph', null, CreateMode.EPHEMERAL);
    const sid = c.sessionId;

    const data = new WatchProbe();
    await c.getData('/nzc-rc/data', data.fn);
    const child = new WatchProbe();
    await c.getChildren('/nzc-rc', child.fn);
    const exist = new WatchProbe();
    assert.equal(await c.exists('/nzc-rc/later', exist.fn), null);
    const changed = new WatchProbe();
    await c.getData('/nzc-rc/changed', changed.fn);

    // 1. Cut and keep refusing, change one watched node meanwhile, then let NZC back in.
    px.block();
    px.cut();
    await c.waitState('disconnected');
    await writer.setData('/nzc-rc/changed', Buffer.from('1'));
    px.unblock();
    await c.waitState('connected', 2);
    assert.equal(c.sessionId, sid, 'same session after reconnect');
    assert.ok(zk.shell.core.sessions.isActive(sid));
    // The change happened while NZC was away: SetWatches (relativeZxid < mzxid) fires it now.
    const ce = await changed.next('NodeDataChanged from SetWatches reconciliation');
    assert.equal(ce.getType(), Event.NODE_DATA_CHANGED);
    assert.equal(ce.getPath(), '/nzc-rc/changed');
    assert.equal(data.events.length + child.events.length + exist.events.length, 0, 'unchanged nodes do not fire on reconnect');
    assert.ok(await writer.exists('/nzc-rc/eph'), 'the ephemeral survived the disconnect');
    // On the wire: the reconnect carried the session, then SetWatches (101) with an ordinary xid,
    // which the server echoed.
    const re = sn.connections.find((k) => k.toClient.length > 0 && k !== sn.connections[0])!;
    assert.equal(re.toServer[0]!.length, 44);
    assert.equal(re.toServer[0]!.readBigInt64BE(16), sid, 'ConnectRequest carries the session id');
    const sw = re.toServer
      .slice(1)
      .map(requestHeader)
      .find((h) => h.type === 101);
    assert.ok(sw, 'NZC sent SetWatches');
    assert.ok(sw.xid >= 0, `SetWatches xid ${sw.xid} is an ordinary one`);
    const swReply = re.toClient
      .slice(1)
      .map(replyHeader)
      .find((h) => h.xid === sw.xid);
    assert.ok(swReply, 'the server replied with the same xid');
    assert.equal(swReply.err, 0);

    // 2. The other watches were re-armed on the new connection.
    await writer.setData('/nzc-rc/data', Buffer.from('1'));
    assert.equal((await data.next('re-armed data watch')).getType(), Event.NODE_DATA_CHANGED);
    await writer.create('/nzc-rc/later');
    assert.equal((await exist.next('re-armed exists watch')).getType(), Event.NODE_CREATED);
    assert.equal((await child.next('re-armed child watch')).getType(), Event.NODE_CHILDREN_CHANGED);

    // 3. A plain cut (no refusal): NZC reconnects at once, requests keep working.
    const before = px.acceptedCount;
    px.cut();
    await c.waitState('connected', 3);
    assert.ok(px.acceptedCount > before);
    assert.equal(c.sessionId, sid);
    assert.deepEqual((await c.getData('/nzc-rc/data')).data, Buffer.from('1'));
    assert.deepEqual(c.states, ['connected', 'disconnected', 'connected', 'disconnected', 'connected']);
  });

  it('session expiry while partitioned: ephemerals go, and NZC emits expired when it gets back in', async () => {
    const px = await proxy();
    const c = await client(px.connectString, { sessionTimeout: 1000 });
    assert.equal(c.client.getSessionTimeout(), 1000);
    const observer = await client();
    await c.create('/nzc-exp', null, CreateMode.EPHEMERAL);
    const gone = new WatchProbe();
    assert.ok(await observer.exists('/nzc-exp', gone.fn));
    const sid = c.sessionId;

    px.block();
    px.cut();
    await c.waitState('disconnected');
    // The server expires the session (after ~T, rounded to ticks) and deletes its ephemeral.
    assert.equal((await gone.next('NodeDeleted on expiry')).getType(), Event.NODE_DELETED);
    assert.equal(zk.shell.core.sessions.isActive(sid), false);
    assert.deepEqual(c.states, ['connected', 'disconnected'], 'NZC cannot know yet');

    px.unblock();
    await c.waitState('expired');
    // The server answered timeOut=0 and closed the connection; NZC stays down.
    await c.waitState('disconnected', 2);
    assert.deepEqual(c.states, ['connected', 'disconnected', 'expired', 'disconnected']);
    assert.notEqual(await codeOf(c.exists('/')), 0);
  });
});
