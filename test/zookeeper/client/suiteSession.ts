// Client suite, part 2: reconnects, read timeout, expiry, limits, recipes, close.

import { it } from 'node:test';
import assert from 'node:assert/strict';
import {
  AddWatchMode,
  CreateMode,
  digestAcl,
  EphemeralNode,
  Err,
  EventType,
  KeeperState,
  LeaderElection,
  Lock,
  mkdirp,
  removeRecursive,
  type ConnectedInfo,
  type WatchedEvent,
} from '../../../src/zookeeper/client/index.js';
import { freePort } from '../../helpers/net.js';
import { Inbox, nextEvent, waitFor } from '../../helpers/wait.js';
import { code, ev, type SuiteContext } from './suiteContext.js';

export function sessionTests(ctx: SuiteContext): void {
  it('reconnect through a cut connection keeps the session, ephemerals, auth and watches', async () => {
    const px = await ctx.proxy();
    const observer = await ctx.open();
    const root = await ctx.base(observer);
    await observer.create(`${root}/d`, 'v0');
    await observer.create(`${root}/kids`);
    await observer.create(`${root}/secret`, 's', { acl: [digestAcl('bob', 'pw')] });
    const c = await ctx.open({ sessionTimeoutMs: 10_000 }, px.connectString);
    await c.addAuth('digest', 'bob:pw');
    await c.create(`${root}/eph`, null, { mode: CreateMode.EPHEMERAL });
    const dataEv = new Inbox<WatchedEvent>();
    const existEv = new Inbox<WatchedEvent>();
    const childEv = new Inbox<WatchedEvent>();
    const persEv = new Inbox<WatchedEvent>();
    const recEv = new Inbox<WatchedEvent>();
    await c.getData(`${root}/d`, dataEv.push);
    assert.equal(await c.exists(`${root}/new`, existEv.push), null);
    await c.getChildren(`${root}/kids`, childEv.push);
    await c.addWatch(`${root}/p`, persEv.push, AddWatchMode.Persistent);
    await c.addWatch(`${root}/r`, recEv.push, AddWatchMode.PersistentRecursive);
    const sid = c.sessionId;

    const disconnected = nextEvent(c, 'disconnected');
    px.block();
    px.cut();
    await disconnected;
    assert.equal(c.state, 'connecting');
    const whileAway = c.getData(`${root}/d`); // queued until we are back
    await observer.setData(`${root}/d`, 'v1');
    await observer.create(`${root}/new`);
    await observer.create(`${root}/kids/k1`);
    const reconnected = nextEvent<[ConnectedInfo]>(c, 'connected', 20_000);
    px.unblock();
    const [info] = await reconnected;
    assert.equal(info.newSession, false);
    assert.equal(c.sessionId, sid);
    assert.deepEqual((await whileAway).data, Buffer.from('v1'));
    // SetWatches reconciled the one-shot watches against lastZxidSeen.
    assert.deepEqual(await dataEv.next(), { ...ev(EventType.NodeDataChanged, `${root}/d`) });
    assert.deepEqual(await existEv.next(), ev(EventType.NodeCreated, `${root}/new`));
    assert.deepEqual(await childEv.next(), ev(EventType.NodeChildrenChanged, `${root}/kids`));
    // Persistent watches were re-added.
    await observer.create(`${root}/p`);
    assert.deepEqual(await persEv.next(), ev(EventType.NodeCreated, `${root}/p`));
    await observer.create(`${root}/r`);
    await observer.create(`${root}/r/x`);
    assert.deepEqual(await recEv.next(), ev(EventType.NodeCreated, `${root}/r`));
    assert.deepEqual(await recEv.next(), ev(EventType.NodeCreated, `${root}/r/x`));
    // Auth was re-sent; the ephemeral is still ours.
    assert.deepEqual((await c.getData(`${root}/secret`)).data, Buffer.from('s'));
    assert.equal((await observer.exists(`${root}/eph`))!.ephemeralOwner, sid);
    assert.equal(px.acceptedCount >= 2, true);
  });

  it('fails over to the next host of a multi-host connect string, skipping dead hosts', async () => {
    const pa = await ctx.proxy();
    const pb = await ctx.proxy();
    const observer = await ctx.open();
    const root = await ctx.base(observer);
    const dead = await freePort();
    const c = await ctx.open({ shuffleHosts: false }, `127.0.0.1:${dead},${pa.connectString},${pb.connectString}${root}`);
    assert.equal(c.connectedServer, pa.connectString, 'the dead first host is skipped');
    const sid = c.sessionId;
    await c.create('/eph', null, { mode: CreateMode.EPHEMERAL });
    const data = new Inbox<WatchedEvent>();
    await c.getData('/eph', data.push);

    const moved = nextEvent<[ConnectedInfo]>(c, 'connected', 20_000);
    pa.block();
    pa.cut();
    const [info] = await moved;
    assert.equal(info.server, pb.connectString);
    assert.equal(info.newSession, false);
    assert.equal(c.sessionId, sid);
    assert.equal(c.connectedServer, pb.connectString);
    await observer.setData(`${root}/eph`, 'x');
    assert.deepEqual(await data.next(), ev(EventType.NodeDataChanged, '/eph'));
    assert.equal((await observer.exists(`${root}/eph`))!.ephemeralOwner, sid);
  });

  it('a silent connection is dropped after the read timeout and the session resumes', async () => {
    const px = await ctx.proxy();
    const c = await ctx.open({ sessionTimeoutMs: 4000 }, px.connectString);
    const sid = c.sessionId;
    const disconnected = nextEvent<[{ reason: string }]>(c, 'disconnected', 10_000);
    const t0 = Date.now();
    px.blackhole(true);
    const [info] = await disconnected;
    const waited = Date.now() - t0;
    assert.match(info.reason, /no data/);
    assert.ok(waited <= 4000, `read timeout after ${waited} ms`);
    const reconnected = nextEvent<[ConnectedInfo]>(c, 'connected', 10_000);
    px.blackhole(false);
    px.cut(); // drop the reconnect attempt that went into the hole
    const [again] = await reconnected;
    assert.equal(again.newSession, false);
    assert.equal(c.sessionId, sid);
    assert.notEqual(await c.exists('/'), null);
  });

  it('session expiry: Expired from the server, everything fails, then a fresh session on request', async () => {
    const px = await ctx.proxy();
    const observer = await ctx.open();
    const root = await ctx.base(observer);
    const c = await ctx.open({ sessionTimeoutMs: 1000 }, px.connectString);
    assert.equal(c.negotiatedTimeoutMs, 1000);
    const oldSid = c.sessionId;
    await c.create(`${root}/eph`, null, { mode: CreateMode.EPHEMERAL });
    const watchNotice = new Inbox<WatchedEvent>();
    await c.getData(root, watchNotice.push);
    const gone = new Inbox<WatchedEvent>();
    await observer.exists(`${root}/eph`, gone.push);

    const disconnected = nextEvent(c, 'disconnected');
    const expired = nextEvent(c, 'expired', 20_000);
    px.block();
    px.cut();
    await disconnected;
    const queued = c.getData(root);
    // The server expires the session (and deletes its ephemerals) while we are away.
    assert.deepEqual(await gone.next(20_000, 'ephemeral deletion'), ev(EventType.NodeDeleted, `${root}/eph`));
    px.unblock();
    await expired;
    assert.equal(c.state, 'expired');
    await assert.rejects(queued, code(Err.SESSIONEXPIRED));
    await assert.rejects(c.exists('/'), code(Err.SESSIONEXPIRED));
    assert.deepEqual(await watchNotice.next(), { type: EventType.None, state: KeeperState.Expired, path: root });

    const info = await c.connect();
    assert.equal(info.newSession, true);
    assert.notEqual(info.sessionId, oldSid);
    assert.equal(c.state, 'connected');
    assert.notEqual(await c.exists(root), null);
  });

  it('EphemeralNode and LeaderElection come back in the next session after expiry', async () => {
    const px = await ctx.proxy();
    const observer = await ctx.open();
    const root = await ctx.base(observer);
    const c = await ctx.open({ sessionTimeoutMs: 1000 }, px.connectString);
    const created = new Inbox<bigint>();
    const node = new EphemeralNode(c, `${root}/brokers/ids/1`, { data: '{"host":"h"}' });
    node.on('created', (_p, sid) => created.push(sid));
    await node.start();
    assert.equal(await created.next(), c.sessionId);
    const election = new LeaderElection(c, `${root}/controller`, { data: '1' });
    const leader = new Inbox<string>();
    election.on('leader', () => leader.push('leader'));
    await election.start();
    assert.equal(await leader.next(), 'leader');
    const oldSid = c.sessionId;
    assert.equal((await observer.exists(`${root}/brokers/ids/1`))!.ephemeralOwner, oldSid);

    const lost = nextEvent(node, 'lost', 20_000);
    const gone = new Inbox<WatchedEvent>();
    await observer.exists(`${root}/brokers/ids/1`, gone.push);
    px.block();
    px.cut();
    await gone.next(20_000, 'ephemeral deletion');
    px.unblock();
    await lost;
    const newSid = await created.next(20_000, 're-creation');
    assert.notEqual(newSid, oldSid);
    assert.equal(newSid, c.sessionId);
    const stat = (await observer.exists(`${root}/brokers/ids/1`))!;
    assert.equal(stat.ephemeralOwner, newSid);
    assert.deepEqual((await observer.getData(`${root}/brokers/ids/1`)).data, Buffer.from('{"host":"h"}'));
    assert.equal(await leader.next(20_000, 'leadership in the new session'), 'leader');
    assert.ok(election.isLeader);
    assert.equal((await observer.getChildren(`${root}/controller`)).length, 1);
    await election.stop();
    await node.stop();
    assert.equal(await observer.exists(`${root}/brokers/ids/1`), null);
  });

  it('frames beyond frameBytesMax: refused when sending, connection dropped when receiving', async () => {
    const observer = await ctx.open();
    const root = await ctx.base(observer);
    await observer.create(`${root}/big`, Buffer.alloc(5000, 1));
    const c = await ctx.open({ frameBytesMax: 2000 });
    const sid = c.sessionId;
    await assert.rejects(c.create(`${root}/x`, Buffer.alloc(3000)), code(Err.BADARGUMENTS));
    assert.ok(c.isConnected);
    const disconnected = nextEvent(c, 'disconnected');
    await assert.rejects(c.getData(`${root}/big`), code(Err.CONNECTIONLOSS));
    await disconnected;
    await waitFor(() => c.isConnected, { what: 'reconnect' });
    assert.equal(c.sessionId, sid);
    assert.equal((await c.exists(`${root}/big`))!.dataLength, 5000);
    // The server's own limit (jute.maxbuffer, 1 MB by default) closes the connection.
    const d = await ctx.open({ frameBytesMax: 4 * 1024 * 1024 });
    await assert.rejects(d.create(`${root}/huge`, Buffer.alloc(1_100_000)), code(Err.CONNECTIONLOSS));
  });

  it('pendingRequestsMax bounds outstanding requests', async () => {
    const c = await ctx.open({ pendingRequestsMax: 2 });
    const a = c.exists('/');
    const b = c.exists('/zookeeper');
    await assert.rejects(c.exists('/'), code(Err.THROTTLEDOP));
    assert.notEqual(await a, null);
    assert.notEqual(await b, null);
    assert.equal(c.pendingRequests, 0);
    assert.notEqual(await c.exists('/'), null);
  });

  it('leader election: lowest candidate leads, each watches its predecessor, next takes over', async () => {
    const [a, b, c] = await Promise.all([ctx.open(), ctx.open(), ctx.open()]);
    const root = await ctx.base(a);
    const path = `${root}/election`;
    const ea = new LeaderElection(a, path, { data: 'a' });
    await ea.start();
    assert.ok(ea.isLeader);
    const eb = new LeaderElection(b, path, { data: 'b' });
    await eb.start();
    const ec = new LeaderElection(c, path, { data: 'c' });
    await ec.start();
    assert.ok(!eb.isLeader && !ec.isLeader);
    assert.equal(eb.leaderNode, ea.nodePath!.split('/').pop());
    // c watches b, not the leader: removing b makes c re-check but stay a follower.
    const cFollows = nextEvent<[string]>(ec, 'follower');
    await eb.stop();
    assert.equal((await cFollows)[0], ea.nodePath!.split('/').pop());
    assert.ok(!ec.isLeader);
    const cLeads = nextEvent(ec, 'leader');
    await a.close(); // the leader's session ends: its node goes
    await cLeads;
    assert.ok(ec.isLeader);
    assert.deepEqual((await c.getData(ec.nodePath!)).data, Buffer.from('c'));
    await ec.stop();
    assert.deepEqual(await c.getChildren(path), []);
  });

  it('lock: mutual exclusion, hand-over in order, acquire timeout', async () => {
    const [a, b, c] = await Promise.all([ctx.open(), ctx.open(), ctx.open()]);
    const root = await ctx.base(a);
    const path = `${root}/lock`;
    const la = new Lock(a, path);
    const lb = new Lock(b, path);
    await la.acquire();
    assert.ok(la.isHeld);
    let bHas = false;
    const bAcq = lb.acquire().then(() => {
      bHas = true;
    });
    await waitFor(async () => (await a.getChildren(path)).length === 2, { what: 'b to queue' });
    assert.equal(bHas, false);
    await assert.rejects(new Lock(c, path).acquire({ timeoutMs: 300 }), code(Err.OPERATIONTIMEOUT));
    assert.equal((await a.getChildren(path)).length, 2, 'a timed-out waiter withdraws');
    await la.release();
    await bAcq;
    assert.ok(lb.isHeld && !la.isHeld);
    await lb.release();
    assert.deepEqual(await a.getChildren(path), []);
    await assert.rejects(lb.release(), code(Err.BADARGUMENTS));
  });

  it('mkdirp and removeRecursive', async () => {
    const c = await ctx.open();
    const root = await ctx.base(c);
    await mkdirp(c, `${root}/a/b/c`, { data: 'leaf' });
    assert.deepEqual((await c.getData(`${root}/a/b/c`)).data, Buffer.from('leaf'));
    assert.equal((await c.getData(`${root}/a/b`)).data, null);
    await mkdirp(c, `${root}/a/b/c`);
    await mkdirp(c, `${root}/a/x`);
    for (let i = 0; i < 20; i++) await c.create(`${root}/a/b/n${i}`);
    await removeRecursive(c, `${root}/a`);
    assert.equal(await c.exists(`${root}/a`), null);
    await removeRecursive(c, `${root}/a`);
    assert.deepEqual(await c.getChildren(root), []);
  });

  it('close() is idempotent and fails later calls', async () => {
    const c = await ctx.open();
    const closed = nextEvent(c, 'closed');
    await Promise.all([c.close(), c.close()]);
    await closed;
    assert.equal(c.state, 'closed');
    await assert.rejects(c.exists('/'), code(Err.SESSIONEXPIRED));
    await assert.rejects(c.connect(), code(Err.SESSIONEXPIRED));
    await c.close();
  });
}
