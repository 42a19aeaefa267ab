// Pure client modules: connect strings, chroot mapping, path checks, watch tables, ACL helpers,
// create planning, multi encoding.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CREATOR_ALL_ACL,
  digestAcl,
  digestId,
  ipAcl,
  OPEN_ACL_UNSAFE,
  READ_ACL_UNSAFE,
  ZooKeeperError,
} from '../../../src/zookeeper/client/index.js';
import { Chroot, parseConnectString, validatePath } from '../../../src/zookeeper/client/connectString.js';
import { decodeMulti, multiEncoder, Op, planCreate } from '../../../src/zookeeper/client/requests.js';
import type { Watcher } from '../../../src/zookeeper/client/types.js';
import { batchSetWatches, WatchManager } from '../../../src/zookeeper/client/watches.js';
import { CreateMode, Err, EventType, OpCode, Perms, WatcherType } from '../../../src/zookeeper/protocol/constants.js';
import { JuteReader, JuteWriter } from '../../../src/zookeeper/protocol/jute.js';
import { CreateRequest, CreateTTLRequest, ErrorResponse, MultiHeader } from '../../../src/zookeeper/protocol/records.js';

test('connect strings: hosts, default port, IPv6, chroot', () => {
  assert.deepEqual(parseConnectString('127.0.0.1:2181,127.0.0.1:2182/chroot/x'), {
    hosts: [
      { host: '127.0.0.1', port: 2181 },
      { host: '127.0.0.1', port: 2182 },
    ],
    chroot: '/chroot/x',
  });
  assert.deepEqual(parseConnectString('localhost'), { hosts: [{ host: 'localhost', port: 2181 }], chroot: '' });
  assert.deepEqual(parseConnectString('[::1]:3000, [::1]/'), {
    hosts: [
      { host: '::1', port: 3000 },
      { host: '::1', port: 2181 },
    ],
    chroot: '',
  });
  assert.throws(() => parseConnectString('/only-chroot'), TypeError);
  assert.throws(() => parseConnectString('h:99999'), TypeError);
  assert.throws(() => parseConnectString('h:1/bad/'), TypeError);
});

test('chroot maps client paths to server paths and back', () => {
  const c = new Chroot('/app');
  assert.equal(c.toServer('/'), '/app');
  assert.equal(c.toServer('/a/b'), '/app/a/b');
  assert.equal(c.toClient('/app'), '/');
  assert.equal(c.toClient('/app/a'), '/a');
  assert.equal(c.toClient('/apple'), '/apple');
  assert.ok(c.contains('/app/x') && c.contains('/app') && !c.contains('/apple'));
  const none = new Chroot('');
  assert.equal(none.toServer('/a'), '/a');
  assert.equal(none.toClient('/a'), '/a');
});

test('client-side path validation follows PathUtils, with sequential prefixes ending in /', () => {
  for (const bad of ['', 'a', '/a/', '//a', '/a/./b', '/a/../b', '/a\u0000b']) {
    assert.throws(
      () => validatePath(bad),
      (e: ZooKeeperError) => e.code === Err.BADARGUMENTS,
    );
  }
  validatePath('/');
  validatePath('/a/b.c/..d');
  validatePath('/folder/', true);
  assert.throws(() => validatePath('/folder/'), ZooKeeperError);
});

test('watch tables fire one-shot watches once and persistent ones every time', () => {
  const wm = new WatchManager();
  const fired: string[] = [];
  const mk =
    (name: string): Watcher =>
    () =>
      fired.push(name);
  const data = mk('data');
  const exist = mk('exist');
  const child = mk('child');
  const pers = mk('pers');
  const rec = mk('rec');
  wm.addData('/a', data);
  wm.addExist('/a/b', exist);
  wm.addChild('/a', child);
  wm.addPersistent('/a', pers, false);
  wm.addPersistent('/', rec, true);
  const fire = (type: number, path: string): string[] =>
    [...wm.trigger(type, path)].map((w) => {
      w(0 as never);
      return fired.pop()!;
    });
  assert.deepEqual(fire(EventType.NodeDataChanged, '/a').sort(), ['data', 'pers', 'rec']);
  assert.deepEqual(fire(EventType.NodeDataChanged, '/a').sort(), ['pers', 'rec']);
  assert.deepEqual(fire(EventType.NodeChildrenChanged, '/a').sort(), ['child', 'pers']);
  assert.deepEqual(fire(EventType.NodeCreated, '/a/b').sort(), ['exist', 'rec']);
  assert.deepEqual(fire(EventType.NodeDeleted, '/a/b/c'), ['rec']);
  assert.deepEqual(wm.paths(), { data: [], exist: [], child: [], persistent: ['/a'], persistentRecursive: ['/'] });
});

test('the same watcher registered twice for one path fires once', () => {
  const wm = new WatchManager();
  const w: Watcher = () => undefined;
  wm.addData('/x', w);
  wm.addChild('/x', w);
  assert.equal(wm.trigger(EventType.NodeDeleted, '/x').size, 1);
  assert.ok(wm.isEmpty);
});

test('watch removal reports what went and whether other watchers remain', () => {
  const wm = new WatchManager();
  const a: Watcher = () => undefined;
  const b: Watcher = () => undefined;
  wm.addData('/x', a);
  wm.addData('/x', b);
  wm.addChild('/x', a);
  assert.ok(wm.contains('/x', WatcherType.Data, a));
  assert.ok(!wm.contains('/x', WatcherType.Persistent));
  assert.ok(wm.othersRemain('/x', WatcherType.Data, a));
  const r1 = wm.remove('/x', WatcherType.Data, a);
  assert.deepEqual(
    r1.removed.map((r) => r.eventType),
    [EventType.DataWatchRemoved],
  );
  assert.equal(r1.remaining, true);
  const r2 = wm.remove('/x', WatcherType.Any);
  assert.deepEqual(r2.removed.map((r) => r.eventType).sort(), [EventType.DataWatchRemoved, EventType.ChildWatchRemoved]);
  assert.ok(wm.isEmpty);
});

test('SetWatches paths are batched by size, lists filled in order', () => {
  const long = (i: number): string => `/${'x'.repeat(96)}/${i}`; // ~100 bytes + 4 length
  const all = {
    data: Array.from({ length: 30 }, (_, i) => long(i)),
    exist: ['/e'],
    child: Array.from({ length: 5 }, (_, i) => `/c${i}`),
    persistent: [],
    persistentRecursive: ['/r'],
  };
  const batches = batchSetWatches(all, 1000);
  assert.ok(batches.length >= 3);
  const flat = (k: keyof typeof all): string[] => batches.flatMap((b) => b[k]);
  for (const k of Object.keys(all) as (keyof typeof all)[]) assert.deepEqual(flat(k), all[k]);
  for (const b of batches) {
    const bytes = [b.data, b.exist, b.child, b.persistent, b.persistentRecursive].flat().reduce((n, p) => n + p.length + 4, 0);
    assert.ok(bytes < 1000 + 110, `batch of ${bytes} bytes`);
  }
  assert.deepEqual(batchSetWatches({ data: [], exist: [], child: [], persistent: [], persistentRecursive: [] }, 1000), []);
});

test('ACL helpers', () => {
  assert.deepEqual(OPEN_ACL_UNSAFE, [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }]);
  assert.deepEqual(READ_ACL_UNSAFE, [{ perms: 1, id: { scheme: 'world', id: 'anyone' } }]);
  assert.deepEqual(CREATOR_ALL_ACL, [{ perms: 31, id: { scheme: 'auth', id: '' } }]);
  assert.ok(Object.isFrozen(OPEN_ACL_UNSAFE) && Object.isFrozen(OPEN_ACL_UNSAFE[0]));
  // The well-known kazoo CI super digest: password "test".
  assert.equal(digestId('super', 'test'), 'super:D/InIHSb7yEEbrWz8b9l71RjZJU=');
  assert.deepEqual(digestAcl('super', 'test', Perms.READ), {
    perms: 1,
    id: { scheme: 'digest', id: 'super:D/InIHSb7yEEbrWz8b9l71RjZJU=' },
  });
  assert.deepEqual(ipAcl('10.0.0.0/8', Perms.ALL), { perms: 31, id: { scheme: 'ip', id: '10.0.0.0/8' } });
  assert.throws(() => ipAcl('10.0.0.0/33'), TypeError);
  assert.throws(() => ipAcl('nope'), TypeError);
});

test('create planning picks the opcode the Java client would', () => {
  assert.equal(planCreate('/a', undefined, false).op, OpCode.create);
  assert.equal(planCreate('/a', undefined, true).op, OpCode.create2);
  assert.equal(planCreate('/a', { mode: CreateMode.CONTAINER }, false).op, OpCode.createContainer);
  assert.equal(planCreate('/a', { mode: CreateMode.PERSISTENT_WITH_TTL, ttl: 10 }, false).op, OpCode.createTTL);
  assert.equal(planCreate('/a/', { mode: CreateMode.PERSISTENT_SEQUENTIAL }, false).flags, 2);
  const bad = (e: ZooKeeperError): boolean => e.code === Err.BADARGUMENTS;
  assert.throws(() => planCreate('/a', { mode: CreateMode.PERSISTENT_WITH_TTL }, false), bad);
  assert.throws(() => planCreate('/a', { mode: CreateMode.PERSISTENT, ttl: 5 }, false), bad);
  assert.throws(() => planCreate('/a', { mode: 9 as never }, false), bad);
  assert.throws(() => planCreate('/a/', {}, false), bad);
  assert.throws(
    () => planCreate('/a', { acl: [] }, false),
    (e: ZooKeeperError) => e.code === Err.INVALIDACL,
  );
});

test('multi requests encode headers, bodies and the terminator; responses decode per op', () => {
  const w = new JuteWriter(64);
  multiEncoder(
    [Op.create('/a', 'x'), Op.create('/t', null, { mode: CreateMode.PERSISTENT_WITH_TTL, ttl: 99 }), Op.check('/a', 3)],
    new Chroot('/r'),
  )(w);
  const r = new JuteReader(w.toBuffer());
  assert.deepEqual(MultiHeader.decode(r), { type: OpCode.create, done: false, err: -1 });
  assert.equal(CreateRequest.decode(r).path, '/r/a');
  assert.deepEqual(MultiHeader.decode(r), { type: OpCode.createTTL, done: false, err: -1 });
  assert.equal(CreateTTLRequest.decode(r).ttl, 99);
  assert.deepEqual(MultiHeader.decode(r), { type: OpCode.check, done: false, err: -1 });
  r.ustring();
  assert.equal(r.int(), 3);
  assert.deepEqual(MultiHeader.decode(r), { type: -1, done: true, err: -1 });
  assert.equal(r.remaining, 0);

  const resp = new JuteWriter(64);
  MultiHeader.encode(resp, { type: OpCode.error, done: false, err: 0 });
  ErrorResponse.encode(resp, { err: 0 });
  MultiHeader.encode(resp, { type: OpCode.error, done: false, err: Err.NONODE });
  ErrorResponse.encode(resp, { err: Err.NONODE });
  MultiHeader.encode(resp, { type: -1, done: true, err: -1 });
  assert.deepEqual(decodeMulti(new JuteReader(resp.toBuffer()), new Chroot('')), [
    { type: 'error', err: 0, codeName: 'OK' },
    { type: 'error', err: Err.NONODE, codeName: 'NONODE' },
  ]);
});
