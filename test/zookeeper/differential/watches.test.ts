// Differential: watches and notifications against Apache ZooKeeper 3.8 and ours.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Pair, OpCode } from './harness.js';
import { B, M } from './bodies.js';

let pair: Pair;
before(async () => {
  pair = await Pair.start();
});
after(async () => {
  await pair?.stop();
});

const Any = 3;
const Children = 1;
const Data = 2;

test('exists watch on a missing node fires NodeCreated; one-shot', async () => {
  await pair.check('exists-watch', async (t) => {
    const w = await t.connect('watcher');
    await t.begin(w);
    const c = await t.connect('writer');
    const p = t.prefix;
    await t.call(w, 'exists missing with watch', OpCode.exists, B.exists(p, true));
    await t.call(w, 'checkWatches data', OpCode.checkWatches, B.watchType(p, Data));
    await t.call(w, 'checkWatches children', OpCode.checkWatches, B.watchType(p, Children));
    await t.call(w, 'getData missing with watch', OpCode.getData, B.getData(`${p}/x`, true));
    await t.call(w, 'checkWatches after getData on missing', OpCode.checkWatches, B.watchType(`${p}/x`, Any));
    await t.call(w, 'getChildren missing with watch', OpCode.getChildren, B.getChildren(`${p}/y`, true));
    await t.call(w, 'checkWatches after getChildren on missing', OpCode.checkWatches, B.watchType(`${p}/y`, Any));
    await t.call(c, 'create', OpCode.create, B.create(p, 'v'));
    await t.events(w, 'watcher events after create');
    await t.events(c, 'writer events after create');
    await t.call(c, 'setData', OpCode.setData, B.setData(p, 'v2'));
    await t.events(w, 'no event after setData (one-shot)');
    await t.call(w, 'checkWatches gone', OpCode.checkWatches, B.watchType(p, Any));
    // Own-session watch.
    await t.call(c, 'exists own with watch', OpCode.exists, B.exists(`${p}/own`, true));
    await t.call(c, 'create own', OpCode.create, B.create(`${p}/own`));
    await t.events(c, 'own event');
    await t.close(w, 'close watcher');
    await t.close(c, 'close writer');
  });
});

test('child and data watches: events per operation, one event per connection on delete', async () => {
  await pair.check('child-data-watch', async (t) => {
    const w = await t.connect('watcher');
    await t.begin(w);
    const w2 = await t.connect('watcher 2');
    const c = await t.connect('writer');
    const p = t.prefix;
    await t.call(c, 'create prefix', OpCode.create, B.create(p));
    await t.call(c, 'create n', OpCode.create, B.create(`${p}/n`, 'x'));
    for (const [conn, name] of [
      [w, 'w'],
      [w2, 'w2'],
    ] as const) {
      await t.call(conn, `${name} getChildren watch prefix`, OpCode.getChildren, B.getChildren(p, true));
      await t.call(conn, `${name} getData watch n`, OpCode.getData, B.getData(`${p}/n`, true));
      await t.call(conn, `${name} exists watch n`, OpCode.exists, B.exists(`${p}/n`, true));
      await t.call(conn, `${name} getChildren2 watch n`, OpCode.getChildren2, B.getChildren(`${p}/n`, true));
    }
    await t.call(c, 'setACL n (no event)', OpCode.setACL, B.setACL(`${p}/n`, [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }]));
    await t.events(w, 'w after setACL');
    await t.call(c, 'delete n', OpCode.delete, B.delete(`${p}/n`));
    await t.events(w, 'w after delete');
    await t.events(w2, 'w2 after delete');
    await t.call(w, 'checkWatches n after delete', OpCode.checkWatches, B.watchType(`${p}/n`, Any));
    // Re-arm and trigger with creates and setData.
    await t.call(w, 'getChildren watch again', OpCode.getChildren, B.getChildren(p, true));
    await t.call(c, 'create a', OpCode.create, B.create(`${p}/a`));
    await t.call(c, 'create b', OpCode.create, B.create(`${p}/b`));
    await t.events(w, 'w after two creates (one-shot child watch)');
    await t.call(w, 'getData watch a', OpCode.getData, B.getData(`${p}/a`, true));
    await t.call(c, 'setData a', OpCode.setData, B.setData(`${p}/a`, 'new'));
    await t.events(w, 'w after setData a');
    await t.call(w, 'exists watch a', OpCode.exists, B.exists(`${p}/a`, true));
    await t.call(w, 'getChildren watch prefix', OpCode.getChildren, B.getChildren(p, true));
    await t.call(
      c,
      'multi: setData a, delete b, create c',
      OpCode.multi,
      B.multi([M.setData(`${p}/a`, 'm'), M.delete(`${p}/b`), M.create(`${p}/c`)]),
    );
    await t.events(w, 'w after multi');
    await t.call(w, 'exists watch a again', OpCode.exists, B.exists(`${p}/a`, true));
    await t.call(c, 'failed multi (no events)', OpCode.multi, B.multi([M.setData(`${p}/a`, 'z'), M.delete(`${p}/nope`)]));
    await t.events(w, 'w after failed multi');
    await t.close(w, 'close w');
    await t.close(w2, 'close w2');
    await t.close(c, 'close writer');
  });
});

test('persistent and persistent-recursive watches (addWatch)', async () => {
  await pair.check('persistent-watch', async (t) => {
    const w = await t.connect('watcher');
    await t.begin(w);
    const r = await t.connect('recursive watcher');
    const c = await t.connect('writer');
    const p = t.prefix;
    await t.call(w, 'addWatch persistent on missing', OpCode.addWatch, B.addWatch(p, 0));
    await t.call(r, 'addWatch recursive on missing', OpCode.addWatch, B.addWatch(p, 1));
    await t.call(c, 'create prefix', OpCode.create, B.create(p));
    await t.call(c, 'create child', OpCode.create, B.create(`${p}/a`));
    await t.call(c, 'create grandchild', OpCode.create, B.create(`${p}/a/b`));
    await t.call(c, 'setData prefix', OpCode.setData, B.setData(p, 'x'));
    await t.call(c, 'setData grandchild', OpCode.setData, B.setData(`${p}/a/b`, 'x'));
    await t.call(c, 'delete grandchild', OpCode.delete, B.delete(`${p}/a/b`));
    await t.call(c, 'delete child', OpCode.delete, B.delete(`${p}/a`));
    await t.call(c, 'create sibling outside', OpCode.create, B.create(`${p}-other`));
    await t.events(w, 'persistent events');
    await t.events(r, 'recursive events');
    await t.call(w, 'persistent: checkWatches any', OpCode.checkWatches, B.watchType(p, Any));
    await t.call(r, 'recursive: checkWatches any', OpCode.checkWatches, B.watchType(p, Any));
    await t.call(r, 'recursive: checkWatches on a descendant path', OpCode.checkWatches, B.watchType(`${p}/zz`, Any));
    await t.call(w, 'persistent: removeWatches any', OpCode.removeWatches, B.watchType(p, Any));
    await t.call(w, 'persistent: removeWatches any again', OpCode.removeWatches, B.watchType(p, Any));
    await t.call(c, 'setData prefix again', OpCode.setData, B.setData(p, 'y'));
    await t.call(c, 'delete prefix', OpCode.delete, B.delete(p));
    await t.events(w, 'persistent after removal');
    await t.events(r, 'recursive after removal');
    await t.call(c, 'delete sibling', OpCode.delete, B.delete(`${p}-other`));
    await t.close(w, 'close w');
    await t.close(r, 'close r');
    await t.close(c, 'close writer');
  });
});

test('removeWatches and checkWatches: NOWATCHER, per type, per connection', async () => {
  await pair.check('remove-watches', async (t) => {
    const w = await t.connect('watcher');
    await t.begin(w);
    const o = await t.connect('other');
    const p = t.prefix;
    await t.call(w, 'create prefix', OpCode.create, B.create(p));
    for (const type of [Children, Data, Any]) {
      await t.call(w, `checkWatches none type ${type}`, OpCode.checkWatches, B.watchType(p, type));
      await t.call(w, `removeWatches none type ${type}`, OpCode.removeWatches, B.watchType(p, type));
    }
    await t.call(w, 'getData watch', OpCode.getData, B.getData(p, true));
    await t.call(o, 'other: removeWatches on a path only w watches', OpCode.removeWatches, B.watchType(p, Data));
    await t.call(w, 'checkWatches children (only data set)', OpCode.checkWatches, B.watchType(p, Children));
    await t.call(w, 'checkWatches data', OpCode.checkWatches, B.watchType(p, Data));
    await t.call(w, 'removeWatches children (only data set)', OpCode.removeWatches, B.watchType(p, Children));
    await t.call(w, 'getChildren watch', OpCode.getChildren, B.getChildren(p, true));
    await t.call(w, 'removeWatches any', OpCode.removeWatches, B.watchType(p, Any));
    await t.call(w, 'checkWatches any after', OpCode.checkWatches, B.watchType(p, Any));
    await t.call(w, 'exists watch on missing', OpCode.exists, B.exists(`${p}/m`, true));
    await t.call(w, 'removeWatches data on missing', OpCode.removeWatches, B.watchType(`${p}/m`, Data));
    await t.call(w, 'create m (no event)', OpCode.create, B.create(`${p}/m`));
    await t.events(w, 'no events after removal');
    await t.call(w, 'checkWatches invalid path', OpCode.checkWatches, B.watchType('bad', Any));
    await t.call(w, 'removeWatches invalid path', OpCode.removeWatches, B.watchType(`${p}/`, Any));
    await t.close(w, 'close w');
    await t.close(o, 'close o');
  });
});

test('closeSession deletes ephemerals; another session sees the events', async () => {
  await pair.check('close-ephemerals', async (t) => {
    const w = await t.connect('watcher');
    await t.begin(w);
    const e = await t.connect('ephemeral owner');
    const p = t.prefix;
    await t.call(w, 'create prefix', OpCode.create, B.create(p));
    await t.call(e, 'create e1', OpCode.create, B.create(`${p}/e1`, 'x', 1));
    await t.call(e, 'create e-seq', OpCode.create2, B.create(`${p}/e-`, 'x', 3));
    await t.call(e, 'getEphemerals', OpCode.getEphemerals, B.ephemerals(p));
    await t.call(w, 'getEphemerals of another session', OpCode.getEphemerals, B.ephemerals('/'));
    await t.call(w, 'exists watch e1', OpCode.exists, B.exists(`${p}/e1`, true));
    await t.call(w, 'getChildren watch prefix', OpCode.getChildren, B.getChildren(p, true));
    await t.call(w, 'stat e1', OpCode.exists, B.exists(`${p}/e1`));
    await t.close(e, 'close owner');
    await t.events(w, 'events after close', true);
    await t.call(w, 'children after close', OpCode.getChildren2, B.getChildren(p));
    await t.close(w, 'close watcher');
  });
});

test('setWatches on a new connection reconciles against relativeZxid', async () => {
  await pair.check('set-watches', async (t) => {
    const c = await t.connect('writer');
    await t.begin(c);
    const p = t.prefix;
    await t.call(c, 'create prefix', OpCode.create, B.create(p));
    await t.call(c, 'create a', OpCode.create, B.create(`${p}/a`));
    await t.call(c, 'create b', OpCode.create, B.create(`${p}/b`));
    const rel = t.base + 3;
    await t.call(c, 'setData a', OpCode.setData, B.setData(`${p}/a`, 'x'));
    await t.call(c, 'create c', OpCode.create, B.create(`${p}/c`));
    const w = await t.connect('watcher');
    await t.call(
      w,
      'setWatches',
      OpCode.setWatches,
      B.setWatches(rel, [`${p}/a`, `${p}/b`, `${p}/gone`], [`${p}/c`, `${p}/d`], [p, `${p}/b`, `${p}/gone2`]),
      -8,
    );
    await t.events(w, 'events from setWatches', true);
    await t.call(c, 'setData b', OpCode.setData, B.setData(`${p}/b`, 'y'));
    await t.call(c, 'create d', OpCode.create, B.create(`${p}/d`));
    await t.call(c, 'create b/x', OpCode.create, B.create(`${p}/b/x`));
    await t.events(w, 'events after writes', true);
    const w2 = await t.connect('watcher 2');
    await t.call(w2, 'setWatches2', OpCode.setWatches2, B.setWatches2(rel, [], [], [], [p], [`${p}/b`]), -8);
    await t.call(c, 'setData prefix', OpCode.setData, B.setData(p, 'z'));
    await t.call(c, 'setData b/x', OpCode.setData, B.setData(`${p}/b/x`, 'z'));
    await t.events(w2, 'events for setWatches2', true);
    await t.close(w, 'close w');
    await t.close(w2, 'close w2');
    await t.close(c, 'close c');
  });
});

// A deliberate difference (docs/COMPATIBILITY.md): ZooKeeper 3.8 keeps one watch mode per
// (connection, path, table): a standard watch set on a path that has a persistent watch
// replaces it (and vice versa), so the persistent watch is lost after the next event. We keep
// both, as ZooKeeper 3.9+ does (ZOOKEEPER-4466).
test('standard watch on a path with a persistent watch: 3.8 overwrites the mode, we keep both', async () => {
  const { apache, ours } = await pair.transcripts('mode-overwrite', async (t) => {
    const w = await t.connect('watcher');
    await t.begin(w);
    const p = t.prefix;
    await t.call(w, 'create prefix', OpCode.create, B.create(p));
    await t.call(w, 'addWatch persistent', OpCode.addWatch, B.addWatch(p, 0));
    await t.call(w, 'getData watch (standard)', OpCode.getData, B.getData(p, true));
    await t.call(w, 'setData 1', OpCode.setData, B.setData(p, '1'));
    await t.call(w, 'setData 2', OpCode.setData, B.setData(p, '2'));
    await t.events(w, 'events');
  });
  const evs = (tr: typeof apache) => (tr.find((e) => e.label === 'events')!.events as { type: number }[]).map((e) => e.type);
  assert.deepEqual(evs(apache), [3]);
  assert.deepEqual(evs(ours), [3, 3]);
});

// Deliberate differences (docs/COMPATIBILITY.md), all in how ZooKeeper 3.8 matches watch types:
// its checkWatches answers OK when *any* connection watches the exact path; it registers a
// recursive watch in the child table too (so Children finds and removes it); WatcherType.Data
// and .Children remove a persistent watch from that table; and it has no WatcherType 4/5
// (MARSHALLINGERROR). We follow ZooKeeper 3.9+: checks are per connection, Data/Children match
// standard watches only, Persistent(4)/PersistentRecursive(5) match persistent ones.
test('watch-type matching in checkWatches/removeWatches: 3.8 vs ours (3.9 semantics)', async () => {
  const { apache, ours } = await pair.transcripts('watch-types', async (t) => {
    const w = await t.connect('watcher');
    await t.begin(w);
    const o = await t.connect('other');
    const p = t.prefix;
    await t.call(w, 'create prefix', OpCode.create, B.create(p));
    await t.call(w, 'getData watch', OpCode.getData, B.getData(p, true));
    await t.call(o, 'other: checkWatches', OpCode.checkWatches, B.watchType(p, Data));
    await t.call(w, 'addWatch persistent', OpCode.addWatch, B.addWatch(`${p}/per`, 0));
    await t.call(w, 'addWatch recursive', OpCode.addWatch, B.addWatch(`${p}/rec`, 1));
    await t.call(w, 'recursive: checkWatches children', OpCode.checkWatches, B.watchType(`${p}/rec`, Children));
    await t.call(w, 'persistent: checkWatches type 4', OpCode.checkWatches, B.watchType(`${p}/per`, 4));
    await t.call(w, 'persistent: removeWatches data', OpCode.removeWatches, B.watchType(`${p}/per`, Data));
    await t.call(w, 'recursive: checkWatches data', OpCode.checkWatches, B.watchType(`${p}/rec`, Data));
    await t.call(w, 'recursive: removeWatches type 5', OpCode.removeWatches, B.watchType(`${p}/rec`, 5));
  });
  const err = (tr: typeof apache, label: string) => tr.find((e) => e.label === label)?.err;
  const expect: [string, string, string][] = [
    ['other: checkWatches', 'OK', 'NOWATCHER(-121)'],
    ['recursive: checkWatches children', 'OK', 'NOWATCHER(-121)'],
    ['persistent: checkWatches type 4', 'MARSHALLINGERROR(-5)', 'OK'],
    ['persistent: removeWatches data', 'OK', 'NOWATCHER(-121)'],
    ['recursive: checkWatches data', 'OK', 'NOWATCHER(-121)'],
    ['recursive: removeWatches type 5', 'MARSHALLINGERROR(-5)', 'OK'],
  ];
  for (const [label, a, o] of expect) {
    assert.equal(err(apache, label), a, `apache: ${label}`);
    assert.equal(err(ours, label), o, `ours: ${label}`);
  }
});
