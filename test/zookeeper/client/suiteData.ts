// Client suite, part 1: operations, stats, watches, multi, ACLs, chroot.

import { it } from 'node:test';
import assert from 'node:assert/strict';
import {
  AddWatchMode,
  CREATOR_ALL_ACL,
  CreateMode,
  digestAcl,
  Err,
  EventType,
  ipAcl,
  KeeperState,
  MultiError,
  Op,
  Perms,
  ReadOp,
  WatcherType,
  ZooKeeperClient,
  ZooKeeperError,
  type ConnectedInfo,
  type WatchedEvent,
} from '../../../src/zookeeper/client/index.js';
import { Inbox, nextEvent } from '../../helpers/wait.js';
import { code, ev, type SuiteContext } from './suiteContext.js';

export function dataTests(ctx: SuiteContext): void {
  it('connects and reports the session', async (t) => {
    const c = new ZooKeeperClient({ connectString: ctx.server.connectString, sessionTimeoutMs: 12_000 });
    t.after(() => c.close());
    const states: string[] = [];
    c.on('state', (s) => states.push(s));
    const connected = nextEvent<[ConnectedInfo]>(c, 'connected');
    const info = await c.connect();
    assert.equal(info.newSession, true);
    assert.notEqual(info.sessionId, 0n);
    assert.equal(info.sessionId, c.sessionId);
    assert.equal(info.negotiatedTimeoutMs, 12_000);
    assert.equal(info.readOnly, false);
    assert.equal(info.server, ctx.server.connectString);
    assert.deepEqual((await connected)[0], info);
    assert.deepEqual(states, ['connecting', 'connected']);
    assert.equal(c.sessionPassword.length, 16);
    // The session timeout is clamped to the server's [min, max].
    const d = await ctx.open({ sessionTimeoutMs: 100 });
    assert.equal(d.negotiatedTimeoutMs, 400);
  });

  it('create, getData, setData, delete with exact Stat values', async () => {
    const c = await ctx.open();
    const root = await ctx.base(c);
    const p = `${root}/node`;
    assert.equal(await c.create(p, 'hello'), p);
    const { data, stat } = await c.getData(p);
    assert.deepEqual(data, Buffer.from('hello'));
    assert.equal(stat.version, 0);
    assert.equal(stat.cversion, 0);
    assert.equal(stat.aversion, 0);
    assert.equal(stat.dataLength, 5);
    assert.equal(stat.numChildren, 0);
    assert.equal(stat.ephemeralOwner, 0n);
    assert.equal(stat.mzxid, stat.czxid);
    assert.equal(stat.pzxid, stat.czxid);
    assert.equal(stat.mtime, stat.ctime);
    assert.ok(stat.czxid > 0 && stat.czxid <= c.lastZxidSeen);
    assert.ok(Math.abs(stat.ctime - Date.now()) < 60_000, 'ctime is wall-clock ms');

    const parent1 = (await c.exists(root))!;
    assert.equal(parent1.numChildren, 1);
    assert.equal(parent1.cversion, 1);
    assert.equal(parent1.pzxid, stat.czxid);
    assert.equal(parent1.version, 0);

    const s2 = await c.setData(p, 'bye!', 0);
    assert.equal(s2.version, 1);
    assert.equal(s2.dataLength, 4);
    assert.equal(s2.czxid, stat.czxid);
    assert.ok(s2.mzxid > stat.mzxid);
    assert.equal(s2.pzxid, stat.pzxid);
    assert.ok(s2.mtime >= stat.mtime);
    assert.deepEqual(await c.exists(p), s2);
    await assert.rejects(
      c.setData(p, 'x', 0),
      (e: ZooKeeperError) => e.code === Err.BADVERSION && e.codeName === 'BADVERSION' && e.path === p,
    );
    assert.equal((await c.setData(p, 'any', -1)).version, 2);

    await assert.rejects(c.delete(p, 0), code(Err.BADVERSION));
    await c.delete(p, 2);
    assert.equal(await c.exists(p), null);
    await assert.rejects(c.getData(p), (e: ZooKeeperError) => e.code === Err.NONODE && e.path === p);
    await assert.rejects(c.delete(p), code(Err.NONODE));
    const parent2 = (await c.exists(root))!;
    assert.equal(parent2.numChildren, 0);
    assert.ok(parent2.pzxid > parent1.pzxid, 'delete moves the parent pzxid');
    assert.equal(parent2.mzxid, parent1.mzxid, 'children do not change the parent mzxid');
    // Client-visible cversion counts deletes too (2 * creates - numChildren).
    assert.equal(parent2.cversion, 2);
  });

  it('null data and empty data are different', async () => {
    const c = await ctx.open();
    const root = await ctx.base(c);
    await c.create(`${root}/null`, null);
    await c.create(`${root}/empty`, '');
    await c.create(`${root}/bytes`, new Uint8Array([1, 2, 3]));
    const n = await c.getData(`${root}/null`);
    const e = await c.getData(`${root}/empty`);
    assert.equal(n.data, null);
    assert.deepEqual(e.data, Buffer.alloc(0));
    assert.equal(n.stat.dataLength, 0);
    assert.equal(e.stat.dataLength, 0);
    assert.deepEqual((await c.getData(`${root}/bytes`)).data, Buffer.from([1, 2, 3]));
  });

  it('create errors', async () => {
    const c = await ctx.open();
    const root = await ctx.base(c);
    await c.create(`${root}/a`);
    await assert.rejects(c.create(`${root}/a`), (e: ZooKeeperError) => e.code === Err.NODEEXISTS && e.path === `${root}/a`);
    await assert.rejects(c.create(`${root}/missing/child`), code(Err.NONODE));
    await c.create(`${root}/eph`, null, { mode: CreateMode.EPHEMERAL });
    await assert.rejects(c.create(`${root}/eph/child`), code(Err.NOCHILDRENFOREPHEMERALS));
    await c.create(`${root}/a/b`);
    await assert.rejects(c.delete(`${root}/a`), code(Err.NOTEMPTY));
    // Refused client-side, before anything is sent.
    await assert.rejects(c.create('no-slash'), code(Err.BADARGUMENTS));
    await assert.rejects(c.create(`${root}/a/`), code(Err.BADARGUMENTS));
    await assert.rejects(c.getData(`${root}//a`), code(Err.BADARGUMENTS));
    await assert.rejects(c.create(`${root}/x`, null, { acl: [] }), code(Err.INVALIDACL));
    // A malformed ACL is refused by the server.
    await assert.rejects(
      c.create(`${root}/x`, null, { acl: [{ perms: 31, id: { scheme: 'world', id: 'nobody' } }] }),
      code(Err.INVALIDACL),
    );
    assert.ok(c.isConnected);
  });

  it('createWithStat, containers and TTL nodes', async () => {
    const c = await ctx.open();
    const root = await ctx.base(c);
    const r = await c.createWithStat(`${root}/s`, 'abc');
    assert.equal(r.path, `${root}/s`);
    assert.deepEqual(r.stat, await c.exists(`${root}/s`));
    assert.equal(r.stat.dataLength, 3);

    assert.equal(await c.create(`${root}/container`, null, { mode: CreateMode.CONTAINER }), `${root}/container`);
    const cs = await c.createWithStat(`${root}/container2`, null, { mode: CreateMode.CONTAINER });
    assert.equal(cs.stat.ephemeralOwner, 0n, 'containers show owner 0');

    const t = await c.createWithStat(`${root}/ttl`, 'x', { mode: CreateMode.PERSISTENT_WITH_TTL, ttl: 60_000 });
    assert.equal(t.path, `${root}/ttl`);
    assert.equal(t.stat.ephemeralOwner, 0n, 'TTL nodes show owner 0');
    const ts = await c.create(`${root}/ttl-`, null, { mode: CreateMode.PERSISTENT_SEQUENTIAL_WITH_TTL, ttl: 60_000 });
    assert.match(ts, /\/ttl-\d{10}$/);
    await assert.rejects(c.create(`${root}/bad`, null, { mode: CreateMode.PERSISTENT_WITH_TTL }), code(Err.BADARGUMENTS));
  });

  it('sequential names count every child creation and allow a trailing slash', async () => {
    const c = await ctx.open();
    const root = await ctx.base(c);
    const seq = CreateMode.PERSISTENT_SEQUENTIAL;
    assert.equal(await c.create(`${root}/n-`, null, { mode: seq }), `${root}/n-0000000000`);
    assert.equal(await c.create(`${root}/n-`, null, { mode: seq }), `${root}/n-0000000001`);
    await c.create(`${root}/plain`);
    await c.delete(`${root}/plain`);
    assert.equal(await c.create(`${root}/n-`, null, { mode: seq }), `${root}/n-0000000003`);
    await c.create(`${root}/dir`);
    assert.equal(await c.create(`${root}/dir/`, null, { mode: seq }), `${root}/dir/0000000000`);
    const e = await c.create(`${root}/e-`, null, { mode: CreateMode.EPHEMERAL_SEQUENTIAL });
    assert.equal(e, `${root}/e-0000000005`);
    assert.equal((await c.exists(e))!.ephemeralOwner, c.sessionId);
  });

  it('children, getChildren2, getAllChildrenNumber, sync', async () => {
    const c = await ctx.open();
    const root = await ctx.base(c);
    for (const n of ['b', 'a', 'c']) await c.create(`${root}/${n}`);
    await c.create(`${root}/a/x`);
    await c.create(`${root}/a/x/y`);
    assert.deepEqual((await c.getChildren(root)).sort(), ['a', 'b', 'c']);
    const g2 = await c.getChildren2(root);
    assert.deepEqual(g2.children.sort(), ['a', 'b', 'c']);
    assert.deepEqual(g2.stat, await c.exists(root));
    assert.deepEqual(await c.getChildren(`${root}/b`), []);
    await assert.rejects(c.getChildren(`${root}/zz`), code(Err.NONODE));
    assert.equal(await c.getAllChildrenNumber(root), 5);
    assert.equal(await c.getAllChildrenNumber(`${root}/b`), 0);
    assert.equal(await c.sync(root), root);
    assert.equal(await c.sync(`${root}/does/not/exist`), `${root}/does/not/exist`);
  });

  it('ephemeral nodes belong to the session and vanish when it closes', async () => {
    const observer = await ctx.open();
    const root = await ctx.base(observer);
    const c = await ctx.open();
    await c.create(`${root}/e1`, 'x', { mode: CreateMode.EPHEMERAL });
    await c.create(`${root}/e2`, null, { mode: CreateMode.EPHEMERAL });
    await c.create(`${root}/p`);
    assert.equal((await observer.exists(`${root}/e1`))!.ephemeralOwner, c.sessionId);
    assert.deepEqual((await c.getEphemerals(root)).sort(), [`${root}/e1`, `${root}/e2`]);
    assert.deepEqual(await c.getEphemerals(`${root}/e1`), [`${root}/e1`]);
    assert.deepEqual(await observer.getEphemerals(root), []);
    const gone = new Inbox<WatchedEvent>();
    await observer.exists(`${root}/e1`, gone.push);
    await c.close();
    assert.equal(c.state, 'closed');
    assert.deepEqual(await gone.next(), ev(EventType.NodeDeleted, `${root}/e1`));
    assert.equal(await observer.exists(`${root}/e2`), null);
    assert.notEqual(await observer.exists(`${root}/p`), null);
    await assert.rejects(c.getData(`${root}/p`), code(Err.SESSIONEXPIRED));
    await c.close();
  });

  it('one-shot watches: data, exist and child watches each fire once', async () => {
    const c = await ctx.open();
    const w = await ctx.open();
    const root = await ctx.base(c);
    const p = `${root}/n`;
    const created = new Inbox<WatchedEvent>();
    assert.equal(await w.exists(p, created.push), null);
    await c.create(p, 'v0');
    assert.deepEqual(await created.next(), ev(EventType.NodeCreated, p));

    const changed = new Inbox<WatchedEvent>();
    const children = new Inbox<WatchedEvent>();
    const existsOnNode = new Inbox<WatchedEvent>();
    await w.getData(p, changed.push);
    await w.exists(p, existsOnNode.push);
    await w.getChildren(p, children.push);
    await c.setData(p, 'v1');
    await c.setData(p, 'v2');
    assert.deepEqual(await changed.next(), ev(EventType.NodeDataChanged, p));
    assert.deepEqual(await existsOnNode.next(), ev(EventType.NodeDataChanged, p));
    await c.create(`${p}/kid`);
    await c.create(`${p}/kid2`);
    assert.deepEqual(await children.next(), ev(EventType.NodeChildrenChanged, p));

    const deleted = new Inbox<WatchedEvent>();
    const deletedChildWatch = new Inbox<WatchedEvent>();
    await w.getData(`${p}/kid`, deleted.push);
    await w.getChildren(`${p}/kid`, deletedChildWatch.push);
    await c.delete(`${p}/kid`);
    assert.deepEqual(await deleted.next(), ev(EventType.NodeDeleted, `${p}/kid`));
    assert.deepEqual(await deletedChildWatch.next(), ev(EventType.NodeDeleted, `${p}/kid`));

    await ctx.barrier(w);
    for (const box of [created, changed, children, existsOnNode, deleted, deletedChildWatch]) {
      assert.equal(box.size, 0, 'one-shot watches fire once');
    }
    // getData on a missing node sets no watch; exists does.
    await assert.rejects(w.getData(`${root}/nope`, changed.push), code(Err.NONODE));
    await c.create(`${root}/nope`);
    await ctx.barrier(w);
    assert.equal(changed.size, 0);
  });

  it('a watcher registered through getData and exists fires once per event', async () => {
    const c = await ctx.open();
    const root = await ctx.base(c);
    const got = new Inbox<WatchedEvent>();
    await c.getData(root, got.push);
    await c.exists(root, got.push);
    await c.getChildren(root, got.push);
    await c.setData(root, 'x');
    assert.deepEqual(await got.next(), ev(EventType.NodeDataChanged, root));
    await ctx.barrier(c);
    assert.equal(got.size, 0);
    await c.create(`${root}/k`);
    assert.deepEqual(await got.next(), ev(EventType.NodeChildrenChanged, root));
  });

  it('persistent watch on a node sees all its events until removed', async () => {
    const c = await ctx.open();
    const w = await ctx.open();
    const root = await ctx.base(c);
    const p = `${root}/p`;
    const got = new Inbox<WatchedEvent>();
    await w.addWatch(p, got.push, AddWatchMode.Persistent);
    await c.create(p);
    await c.setData(p, '1');
    await c.setData(p, '2');
    await c.create(`${p}/kid`);
    await c.setData(`${p}/kid`, 'not seen');
    await c.delete(`${p}/kid`);
    await c.delete(p);
    await c.create(p);
    const expected = [
      ev(EventType.NodeCreated, p),
      ev(EventType.NodeDataChanged, p),
      ev(EventType.NodeDataChanged, p),
      ev(EventType.NodeChildrenChanged, p),
      ev(EventType.NodeChildrenChanged, p),
      ev(EventType.NodeDeleted, p),
      ev(EventType.NodeCreated, p),
    ];
    for (const e of expected) assert.deepEqual(await got.next(), e);
    await ctx.barrier(w);
    assert.equal(got.size, 0);

    // Persistent watches are removed with WatcherType.Any on 3.8 (types 4/5 are 3.9+).
    await w.removeWatches(p, WatcherType.Any);
    assert.deepEqual(await got.next(), { type: EventType.PersistentWatchRemoved, state: KeeperState.SyncConnected, path: p });
    await c.setData(p, 'after');
    await ctx.barrier(w);
    assert.equal(got.size, 0);
    await assert.rejects(w.removeWatches(p, WatcherType.Any), code(Err.NOWATCHER));
  });

  it('persistent recursive watch sees descendants, never NodeChildrenChanged', async () => {
    const c = await ctx.open();
    const w = await ctx.open();
    const root = await ctx.base(c);
    const r = `${root}/r`;
    const got = new Inbox<WatchedEvent>();
    await w.addWatch(r, got.push, AddWatchMode.PersistentRecursive);
    await c.create(r);
    await c.create(`${r}/a`);
    await c.create(`${r}/a/b`, 'x');
    await c.setData(`${r}/a/b`, 'y');
    await c.delete(`${r}/a/b`);
    await c.create(`${root}/r2`); // a sibling with a common string prefix: not ours
    const expected = [
      ev(EventType.NodeCreated, r),
      ev(EventType.NodeCreated, `${r}/a`),
      ev(EventType.NodeCreated, `${r}/a/b`),
      ev(EventType.NodeDataChanged, `${r}/a/b`),
      ev(EventType.NodeDeleted, `${r}/a/b`),
    ];
    for (const e of expected) assert.deepEqual(await got.next(), e);
    await ctx.barrier(w);
    assert.equal(got.size, 0);
  });

  it('checkWatches and removeWatches', async () => {
    const c = await ctx.open();
    const root = await ctx.base(c);
    const got = new Inbox<WatchedEvent>();
    const other = new Inbox<WatchedEvent>();
    await c.getData(root, got.push);
    await c.getData(root, other.push);
    await c.checkWatches(root, WatcherType.Data);
    await assert.rejects(c.checkWatches(root, WatcherType.Children), code(Err.NOWATCHER));
    // Removing one of two local watchers keeps the server's watch.
    await c.removeWatches(root, WatcherType.Data, got.push);
    assert.deepEqual(await got.next(), { type: EventType.DataWatchRemoved, state: KeeperState.SyncConnected, path: root });
    await c.checkWatches(root, WatcherType.Data);
    // Removing the last one removes it on the server.
    await c.removeWatches(root, WatcherType.Data, other.push);
    assert.deepEqual(await other.next(), { type: EventType.DataWatchRemoved, state: KeeperState.SyncConnected, path: root });
    await assert.rejects(c.checkWatches(root, WatcherType.Data), code(Err.NOWATCHER));
    await c.setData(root, 'x');
    await ctx.barrier(c);
    assert.equal(got.size + other.size, 0);
    // Nothing registered locally: NOWATCHER without asking the server.
    await assert.rejects(c.removeWatches(root, WatcherType.Children), code(Err.NOWATCHER));
    // Child watches, all of them.
    await c.getChildren(root, got.push);
    await c.removeWatches(root, WatcherType.Children);
    assert.deepEqual(await got.next(), { type: EventType.ChildWatchRemoved, state: KeeperState.SyncConnected, path: root });
  });

  it('multi: success returns one result per op', async () => {
    const c = await ctx.open();
    const root = await ctx.base(c);
    await c.create(`${root}/old`, 'x');
    const results = await c.multi([
      Op.create(`${root}/a`, 'A'),
      Op.create(`${root}/a/b`, null, { withStat: true }),
      Op.create(`${root}/s-`, null, { mode: CreateMode.PERSISTENT_SEQUENTIAL }),
      Op.setData(`${root}/old`, 'y', 0),
      Op.check(`${root}/old`, 1),
      Op.delete(`${root}/old`, 1),
    ]);
    assert.equal(results.length, 6);
    assert.deepEqual(results[0], { type: 'create', path: `${root}/a`, stat: null });
    assert.equal(results[1]!.type, 'create');
    const r1 = results[1] as { path: string; stat: { czxid: number } | null };
    assert.equal(r1.path, `${root}/a/b`);
    // Apache 3.8.0 answers a create2 inside multi with a plain CreateResponse (no Stat);
    // containers and TTL nodes get a Create2Response.
    if (r1.stat !== null) assert.deepEqual(r1.stat, await c.exists(`${root}/a/b`));
    assert.deepEqual(results[2], { type: 'create', path: `${root}/s-0000000002`, stat: null });
    assert.equal(results[3]!.type, 'setData');
    assert.equal((results[3] as { stat: { version: number } }).stat.version, 1);
    assert.deepEqual(results[4], { type: 'check' });
    assert.deepEqual(results[5], { type: 'delete' });
    // All ops share one zxid.
    const [c1, c2] = await c.multi([
      Op.create(`${root}/c1`, null, { mode: CreateMode.CONTAINER }),
      Op.create(`${root}/c2`, null, { mode: CreateMode.PERSISTENT_WITH_TTL, ttl: 60_000 }),
    ]);
    const s1 = (c1 as { stat: { czxid: number } }).stat;
    const s2 = (c2 as { stat: { czxid: number } }).stat;
    assert.deepEqual(s1, await c.exists(`${root}/c1`));
    assert.equal(s1.czxid, s2.czxid);
    assert.equal((await c.exists(`${root}/a`))!.czxid, (await c.exists(`${root}/a/b`))!.czxid);

    const tx = await c.transaction().create(`${root}/t`).setData(`${root}/t`, 'v').check(`${root}/t`, 1).commit();
    assert.deepEqual(
      tx.map((r) => r.type),
      ['create', 'setData', 'check'],
    );
    assert.deepEqual(await c.multi([]), []);
  });

  it('multi: failure rejects with every op result and changes nothing', async () => {
    const c = await ctx.open();
    const root = await ctx.base(c);
    await c.create(`${root}/x`, 'x');
    const err = await c
      .multi([Op.create(`${root}/new`), Op.check(`${root}/x`, 7), Op.delete(`${root}/x`), Op.setData(`${root}/x`, 'z')])
      .then(
        () => assert.fail('multi should fail'),
        (e: unknown) => e,
      );
    assert.ok(err instanceof MultiError);
    assert.ok(err instanceof ZooKeeperError);
    assert.equal(err.code, Err.BADVERSION);
    assert.equal(err.codeName, 'BADVERSION');
    assert.equal(err.path, `${root}/x`);
    assert.equal(err.index, 1);
    assert.deepEqual(err.results, [
      { type: 'error', err: 0, codeName: 'OK' },
      { type: 'error', err: Err.BADVERSION, codeName: 'BADVERSION' },
      { type: 'error', err: Err.RUNTIMEINCONSISTENCY, codeName: 'RUNTIMEINCONSISTENCY' },
      { type: 'error', err: Err.RUNTIMEINCONSISTENCY, codeName: 'RUNTIMEINCONSISTENCY' },
    ]);
    assert.equal(await c.exists(`${root}/new`), null);
    assert.deepEqual((await c.getData(`${root}/x`)).data, Buffer.from('x'));
    await assert.rejects(c.transaction().create(`${root}/x`).commit(), (e: MultiError) => e.code === Err.NODEEXISTS && e.index === 0);
  });

  it('multiRead returns data, children or an error per op', async () => {
    const c = await ctx.open();
    const root = await ctx.base(c);
    await c.create(`${root}/a`, 'A');
    await c.create(`${root}/a/k`);
    const r = await c.multiRead([ReadOp.getData(`${root}/a`), ReadOp.getChildren(`${root}/a`), ReadOp.getData(`${root}/none`)]);
    assert.equal(r.length, 3);
    assert.equal(r[0]!.type, 'getData');
    const d = r[0] as { data: Buffer; stat: { version: number } };
    assert.deepEqual(d.data, Buffer.from('A'));
    assert.deepEqual(d.stat, await c.exists(`${root}/a`));
    assert.deepEqual(r[1], { type: 'getChildren', children: ['k'] });
    assert.deepEqual(r[2], { type: 'error', err: Err.NONODE, codeName: 'NONODE' });
  });

  it('digest ACLs: NOAUTH without auth, access after addAuth, getACL/setACL versions, whoAmI', async () => {
    const owner = await ctx.open();
    const root = await ctx.base(owner);
    const p = `${root}/secret`;
    const acl = [digestAcl('alice', 'pw', Perms.ALL)];
    await owner.create(p, 'hidden', { acl });
    await assert.rejects(owner.getData(p), (e: ZooKeeperError) => e.code === Err.NOAUTH && e.codeName === 'NOAUTH' && e.path === p);
    await assert.rejects(owner.setData(p, 'x'), code(Err.NOAUTH));
    await assert.rejects(owner.getChildren(p), code(Err.NOAUTH));
    if (ctx.traits.existsChecksReadAcl) await assert.rejects(owner.exists(p), code(Err.NOAUTH));
    else assert.notEqual(await owner.exists(p), null, 'exists needs no permission in 3.8.0');

    const alice = await ctx.open();
    await alice.addAuth('digest', 'alice:pw');
    assert.deepEqual((await alice.getData(p)).data, Buffer.from('hidden'));
    const who = await alice.whoAmI();
    assert.deepEqual(who.map((w) => `${w.scheme}:${w.user}`).sort(), ['digest:alice', 'ip:127.0.0.1']);
    const got = await alice.getACL(p);
    assert.deepEqual(got.acl, acl);
    assert.equal(got.stat.aversion, 0);
    await assert.rejects(alice.setACL(p, [...acl, { perms: Perms.READ, id: { scheme: 'world', id: 'anyone' } }], 5), code(Err.BADVERSION));
    const s = await alice.setACL(p, [...acl, { perms: Perms.READ, id: { scheme: 'world', id: 'anyone' } }], 0);
    assert.equal(s.aversion, 1);
    assert.equal(s.mzxid, got.stat.mzxid, 'setACL does not change mzxid');
    assert.deepEqual((await owner.getData(p)).data, Buffer.from('hidden'));
    await assert.rejects(owner.setData(p, 'x'), code(Err.NOAUTH));
    // A second identity on the same connection.
    await owner.addAuth('digest', 'alice:pw');
    await owner.setData(p, 'mine now');
  });

  it('CREATOR_ALL_ACL needs an authenticated id; ip ACLs match the connection address', async () => {
    const c = await ctx.open();
    const root = await ctx.base(c);
    await assert.rejects(c.create(`${root}/mine`, null, { acl: CREATOR_ALL_ACL }), code(Err.INVALIDACL));
    await c.addAuth('digest', 'bob:pw');
    await c.create(`${root}/mine`, null, { acl: CREATOR_ALL_ACL });
    assert.deepEqual((await c.getACL(`${root}/mine`)).acl, [digestAcl('bob', 'pw', Perms.ALL)]);

    const d = await ctx.open();
    await d.create(`${root}/local`, 'x', { acl: [ipAcl('127.0.0.1', Perms.READ)] });
    assert.deepEqual((await d.getData(`${root}/local`)).data, Buffer.from('x'));
    await assert.rejects(d.setData(`${root}/local`, 'y'), code(Err.NOAUTH));
    await d.create(`${root}/far`, 'x', { acl: [ipAcl('10.0.0.0/8', Perms.ALL)] });
    await assert.rejects(d.getData(`${root}/far`), code(Err.NOAUTH));
    await d.create(`${root}/lo`, 'x', { acl: [ipAcl('127.0.0.0/8', Perms.ALL)] });
    await d.setData(`${root}/lo`, 'y');
  });

  it('an unknown auth scheme is AUTHFAILED and terminal', async () => {
    const c = await ctx.open();
    const failed = nextEvent(c, 'authFailed');
    await assert.rejects(c.addAuth('no-such-scheme', 'x'), code(Err.AUTHFAILED));
    await failed;
    assert.equal(c.state, 'authFailed');
    await assert.rejects(c.exists('/'), code(Err.AUTHFAILED));
    await assert.rejects(c.connect(), code(Err.AUTHFAILED));
  });

  it('chroot: paths are prefixed going out and stripped coming back', async () => {
    const rootClient = await ctx.open();
    const root = await ctx.base(rootClient);
    const c = await ctx.open({}, `${ctx.server.connectString}${root}`);
    assert.equal(c.chrootPath, root);
    assert.equal(await c.create('/x', 'v'), '/x');
    assert.deepEqual((await rootClient.getData(`${root}/x`)).data, Buffer.from('v'));
    assert.match(await c.create('/s-', null, { mode: CreateMode.PERSISTENT_SEQUENTIAL }), /^\/s-\d{10}$/);
    assert.equal((await c.createWithStat('/y')).path, '/y');
    assert.deepEqual((await c.getChildren('/')).sort(), (await rootClient.getChildren(root)).sort());
    assert.deepEqual((await c.exists('/'))!, await rootClient.exists(root));

    const data = new Inbox<WatchedEvent>();
    const rec = new Inbox<WatchedEvent>();
    await c.getData('/x', data.push);
    await c.addWatch('/', rec.push, AddWatchMode.PersistentRecursive);
    await rootClient.setData(`${root}/x`, 'w');
    assert.deepEqual(await data.next(), ev(EventType.NodeDataChanged, '/x'));
    assert.deepEqual(await rec.next(), ev(EventType.NodeDataChanged, '/x'));
    await rootClient.create(`${root}/z`);
    assert.deepEqual(await rec.next(), ev(EventType.NodeCreated, '/z'));

    const m = await c.multi([Op.create('/m1'), Op.create('/m2', null, { withStat: true })]);
    assert.deepEqual(
      m.map((r) => (r as { path: string }).path),
      ['/m1', '/m2'],
    );
    assert.equal(await c.sync('/x'), '/x');
    await c.create('/e', null, { mode: CreateMode.EPHEMERAL });
    assert.deepEqual(await c.getEphemerals(), ['/e']);
    assert.deepEqual(await c.getEphemerals('/e'), ['/e']);
    await assert.rejects(c.getData('/missing'), (e: ZooKeeperError) => e.code === Err.NONODE && e.path === '/missing');
    await assert.rejects(c.multi([Op.check('/x', 99)]), (e: MultiError) => e.path === '/x');
  });
}
