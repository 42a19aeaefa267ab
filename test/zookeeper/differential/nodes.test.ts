// Differential: znode operations (create modes, failing creates, deletes, setData, Stat
// bookkeeping, sequential names, reads) against Apache ZooKeeper 3.8 and ours.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Pair, OpCode } from './harness.js';
import { B, M, OPEN, acl } from './bodies.js';

let pair: Pair;
before(async () => {
  pair = await Pair.start();
});
after(async () => {
  await pair?.stop();
});

// Must run first: the stats of a server nobody has written to yet.
test('root and /zookeeper stats on a fresh server', async () => {
  await pair.check('fresh', async (t) => {
    const c = await t.connect('connect');
    await t.begin(c);
    for (const p of ['/', '/zookeeper', '/zookeeper/quota', '/zookeeper/config']) {
      await t.call(c, `exists ${p}`, OpCode.exists, B.exists(p));
      await t.call(c, `getData ${p}`, OpCode.getData, B.getData(p));
      await t.call(c, `getChildren2 ${p}`, OpCode.getChildren2, B.getChildren(p));
      await t.call(c, `getACL ${p}`, OpCode.getACL, B.getACL(p));
      await t.call(c, `getAllChildrenNumber ${p}`, OpCode.getAllChildrenNumber, B.path(p));
    }
    await t.close(c, 'close');
  });
});

test('creates of every mode, with create (1) and create2 (15)', async () => {
  await pair.check('create-modes', async (t) => {
    const c = await t.connect('connect');
    await t.begin(c);
    const p = t.prefix;
    await t.call(c, 'create prefix', OpCode.create, B.create(p, 'root'));
    for (const op of [OpCode.create, OpCode.create2]) {
      for (const flags of [0, 1, 2, 3]) {
        const path = `${p}/op${op}-f${flags}`;
        await t.call(c, `create op${op} flags ${flags}`, op, B.create(path, `d${flags}`, flags));
      }
      await t.call(c, `op${op} container flag`, op, B.create(`${p}/op${op}-container`, '', 4));
      await t.call(c, `op${op} ttl flag 5`, op, B.create(`${p}/op${op}-ttl5`, '', 5));
      await t.call(c, `op${op} ttl flag 6`, op, B.create(`${p}/op${op}-ttl6`, '', 6));
      await t.call(c, `op${op} bad flag 7`, op, B.create(`${p}/op${op}-f7`, '', 7));
      await t.call(c, `op${op} bad flag -1`, op, B.create(`${p}/op${op}-fm1`, '', -1));
    }
    await t.call(c, 'createContainer', OpCode.createContainer, B.create(`${p}/container`, 'c', 4));
    await t.call(c, 'createContainer with flags 0', OpCode.createContainer, B.create(`${p}/container0`, 'c', 0));
    await t.call(c, 'createContainer with flags 1', OpCode.createContainer, B.create(`${p}/container1`, 'c', 1));
    await t.call(c, 'createTTL flags 5', OpCode.createTTL, B.createTTL(`${p}/ttl`, 't', 5, 60_000));
    await t.call(c, 'createTTL flags 6', OpCode.createTTL, B.createTTL(`${p}/ttls-`, 't', 6, 60_000));
    await t.call(c, 'createTTL flags 0', OpCode.createTTL, B.createTTL(`${p}/ttl0`, 't', 0, 60_000));
    await t.call(c, 'createTTL flags 4', OpCode.createTTL, B.createTTL(`${p}/ttl4`, 't', 4, 60_000));
    await t.call(c, 'createTTL ttl 0', OpCode.createTTL, B.createTTL(`${p}/ttlz`, 't', 5, 0));
    await t.call(c, 'createTTL ttl -1', OpCode.createTTL, B.createTTL(`${p}/ttlm`, 't', 5, -1));
    await t.call(c, 'createTTL ttl max', OpCode.createTTL, B.createTTL(`${p}/ttlmax`, 't', 5, 2 ** 40 - 1));
    await t.call(c, 'createTTL ttl max+1', OpCode.createTTL, B.createTTL(`${p}/ttlbig`, 't', 5, 2 ** 40));
    for (const name of ['op1-f1', 'op15-f1', 'container', 'ttl', 'ttlmax', 'op15-container']) {
      await t.call(c, `getData ${name}`, OpCode.getData, B.getData(`${p}/${name}`));
    }
    await t.call(c, 'getChildren2 prefix', OpCode.getChildren2, B.getChildren(p));
    await t.call(c, 'getEphemerals all', OpCode.getEphemerals, B.ephemerals('/'));
    await t.call(c, 'getEphemerals empty', OpCode.getEphemerals, B.ephemerals(''));
    await t.call(c, 'getEphemerals prefix', OpCode.getEphemerals, B.ephemerals(`${p}/op15`));
    await t.call(c, 'getEphemerals none', OpCode.getEphemerals, B.ephemerals('/nothing-here'));
    await t.call(c, 'getAllChildrenNumber', OpCode.getAllChildrenNumber, B.path(p));
    await t.call(c, 'getAllChildrenNumber missing', OpCode.getAllChildrenNumber, B.path(`${p}/missing`));
    await t.close(c, 'close');
  });
});

test('failing creates: NODEEXISTS, NONODE, invalid paths, NOCHILDRENFOREPHEMERALS, invalid ACLs', async () => {
  await pair.check('create-fail', async (t) => {
    const c = await t.connect('connect');
    await t.begin(c);
    const p = t.prefix;
    await t.call(c, 'create prefix', OpCode.create, B.create(p));
    await t.call(c, 'create again', OpCode.create, B.create(p));
    await t.call(c, 'create2 again', OpCode.create2, B.create(p));
    await t.call(c, 'missing parent', OpCode.create, B.create(`${p}/no/child`));
    await t.call(c, 'missing parent create2', OpCode.create2, B.create(`${p}/no/child`));
    const bad = [
      `${p}//b`,
      `${p}/`,
      'a',
      '',
      '/',
      `${p}/.`,
      `${p}/..`,
      `${p}/./x`,
      `${p}/x/..`,
      `${p}/a\u0000b`,
      `${p}/a\u0001b`,
      `${p}/a\u007fb`,
      `${p}/a\ud800b`,
      `${p}/a\ufff5b`,
      `${p}/ok.`,
      `${p}/..ok`,
    ];
    for (const path of bad) {
      await t.call(c, `create ${JSON.stringify(path)}`, OpCode.create, B.create(path));
    }
    // Sequential names are appended before validation: a trailing slash is a legal prefix.
    await t.call(c, 'sequential with trailing slash', OpCode.create, B.create(`${p}/`, '', 2));
    await t.call(c, 'sequential empty-segment', OpCode.create, B.create(`${p}//`, '', 2));
    await t.call(c, 'create under /zookeeper', OpCode.create, B.create(`/zookeeper/x-${p.slice(1)}`));
    await t.call(c, 'delete under /zookeeper', OpCode.delete, B.delete(`/zookeeper/x-${p.slice(1)}`));
    await t.call(c, 'create /zookeeper/quota child', OpCode.create, B.create(`/zookeeper/quota/q-${p.slice(1)}`));
    await t.call(c, 'delete /zookeeper/quota child', OpCode.delete, B.delete(`/zookeeper/quota/q-${p.slice(1)}`));
    await t.call(c, 'create under /zookeeper/config', OpCode.create, B.create('/zookeeper/config/x'));
    // Ephemeral parent.
    await t.call(c, 'ephemeral parent', OpCode.create, B.create(`${p}/eph`, '', 1));
    await t.call(c, 'child of ephemeral', OpCode.create, B.create(`${p}/eph/child`));
    await t.call(c, 'seq child of ephemeral', OpCode.create2, B.create(`${p}/eph/child`, '', 2));
    await t.call(c, 'existing child of ephemeral path', OpCode.create, B.create(`${p}/eph`, '', 0));
    // ACLs.
    const acls: [string, ReturnType<typeof acl>[] | null][] = [
      ['empty acl', []],
      ['null acl', null],
      ['world:foo', [acl(31, 'world', 'foo')]],
      ['unknown scheme', [acl(31, 'nope', 'x')]],
      ['digest without colon', [acl(31, 'digest', 'user')]],
      ['digest with two colons', [acl(31, 'digest', 'a:b:c')]],
      ['ip bad', [acl(31, 'ip', 'not-an-ip')]],
      ['ip cidr', [acl(31, 'ip', '127.0.0.0/8')]],
      ['ip cidr bad bits', [acl(31, 'ip', '127.0.0.0/40')]],
      ['ip v6', [acl(31, 'ip', '::1')]],
      ['auth without credentials', [acl(31, 'auth', '')]],
      ['perms 0', [acl(0, 'world', 'anyone')]],
      ['perms 255', [acl(255, 'world', 'anyone')]],
      ['duplicate entries', [acl(31, 'world', 'anyone'), acl(31, 'world', 'anyone')]],
      ['super scheme', [acl(31, 'super', 'x')]],
    ];
    let i = 0;
    for (const [label, a] of acls) {
      const path = `${p}/acl${i++}`;
      await t.call(c, `create ${label}`, OpCode.create, B.create(path, '', 0, a));
      await t.call(c, `getACL ${label}`, OpCode.getACL, B.getACL(path));
    }
    // Check order: invalid ACL and missing parent together.
    await t.call(c, 'bad acl + missing parent', OpCode.create, B.create(`${p}/none/x`, '', 0, []));
    await t.call(c, 'bad path + bad acl', OpCode.create, B.create(`${p}//x`, '', 0, []));
    await t.call(c, 'bad path + existing', OpCode.create, B.create(`${p}/eph/`, '', 0));
    await t.close(c, 'close');
  });
});

test('deletes: versions, NOTEMPTY, NONODE, system nodes', async () => {
  await pair.check('delete', async (t) => {
    const c = await t.connect('connect');
    await t.begin(c);
    const p = t.prefix;
    await t.call(c, 'create prefix', OpCode.create, B.create(p));
    await t.call(c, 'create a', OpCode.create, B.create(`${p}/a`, 'x'));
    await t.call(c, 'create a/b', OpCode.create, B.create(`${p}/a/b`));
    await t.call(c, 'delete a notempty', OpCode.delete, B.delete(`${p}/a`));
    await t.call(c, 'delete a bad version + notempty', OpCode.delete, B.delete(`${p}/a`, 5));
    await t.call(c, 'delete b bad version', OpCode.delete, B.delete(`${p}/a/b`, 1));
    await t.call(c, 'delete b version 0', OpCode.delete, B.delete(`${p}/a/b`, 0));
    await t.call(c, 'delete b again', OpCode.delete, B.delete(`${p}/a/b`));
    await t.call(c, 'delete missing parent', OpCode.delete, B.delete(`${p}/zz/b`));
    await t.call(c, 'setData a', OpCode.setData, B.setData(`${p}/a`, 'y'));
    await t.call(c, 'delete a version 0 (now 1)', OpCode.delete, B.delete(`${p}/a`, 0));
    await t.call(c, 'delete a version 1', OpCode.delete, B.delete(`${p}/a`, 1));
    for (const path of [
      '/',
      '/zookeeper',
      '/zookeeper/quota',
      '/zookeeper/config',
      '',
      'a',
      `${p}/`,
      `${p}//x`,
      `${p}/.`,
      '/zookeeper/nothing',
    ]) {
      await t.call(c, `delete ${JSON.stringify(path)}`, OpCode.delete, B.delete(path));
    }
    await t.call(c, 'exists prefix', OpCode.exists, B.exists(p));
    await t.close(c, 'close');
  });
});

test('setData with versions; getData of null vs empty data', async () => {
  await pair.check('setdata', async (t) => {
    const c = await t.connect('connect');
    await t.begin(c);
    const p = t.prefix;
    await t.call(c, 'create prefix with null data', OpCode.create2, B.create(p, null));
    await t.call(c, 'getData null', OpCode.getData, B.getData(p));
    await t.call(c, 'create empty', OpCode.create2, B.create(`${p}/empty`, ''));
    await t.call(c, 'getData empty', OpCode.getData, B.getData(`${p}/empty`));
    await t.call(c, 'setData v0', OpCode.setData, B.setData(p, 'one', 0));
    await t.call(c, 'setData v0 again', OpCode.setData, B.setData(p, 'two', 0));
    await t.call(c, 'setData v1', OpCode.setData, B.setData(p, 'two', 1));
    await t.call(c, 'setData any', OpCode.setData, B.setData(p, 'three', -1));
    await t.call(c, 'setData -2', OpCode.setData, B.setData(p, 'x', -2));
    await t.call(c, 'setData null', OpCode.setData, B.setData(p, null));
    await t.call(c, 'getData after null', OpCode.getData, B.getData(p));
    await t.call(c, 'setData empty', OpCode.setData, B.setData(p, ''));
    await t.call(c, 'getData after empty', OpCode.getData, B.getData(p));
    await t.call(c, 'setData binary', OpCode.setData, B.setData(p, Buffer.from([0, 1, 2, 255, 254])));
    await t.call(c, 'getData binary', OpCode.getData, B.getData(p));
    await t.call(c, 'setData missing', OpCode.setData, B.setData(`${p}/missing`, 'x'));
    await t.call(c, 'setData missing bad version', OpCode.setData, B.setData(`${p}/missing`, 'x', 7));
    await t.call(c, 'setData invalid path', OpCode.setData, B.setData(`${p}/`, 'x'));
    await t.call(c, 'setData relative', OpCode.setData, B.setData('rel', 'x'));
    await t.call(c, 'setData /', OpCode.setData, B.setData('/', 'x', 999));
    await t.call(c, 'getData invalid path', OpCode.getData, B.getData(`${p}/`));
    await t.call(c, 'exists invalid path', OpCode.exists, B.exists(`${p}//x`));
    await t.call(c, 'exists nul', OpCode.exists, B.exists(`${p}/a\u0000`));
    await t.call(c, 'getData nul', OpCode.getData, B.getData(`${p}/a\u0000`));
    await t.call(c, 'getChildren invalid', OpCode.getChildren, B.getChildren('x'));
    await t.call(c, 'exists', OpCode.exists, B.exists(p));
    await t.close(c, 'close');
  });
});

test('cversion and pzxid after creates and deletes (2*cv - numChildren); sequential counters', async () => {
  await pair.check('cversion', async (t) => {
    const c = await t.connect('connect');
    await t.begin(c);
    const p = t.prefix;
    await t.call(c, 'create prefix', OpCode.create, B.create(p));
    for (const n of ['a', 'b', 'c']) await t.call(c, `create ${n}`, OpCode.create, B.create(`${p}/${n}`));
    await t.call(c, 'stat after 3 creates', OpCode.exists, B.exists(p));
    await t.call(c, 'delete b', OpCode.delete, B.delete(`${p}/b`));
    await t.call(c, 'stat after delete', OpCode.exists, B.exists(p));
    await t.call(c, 'seq 1', OpCode.create, B.create(`${p}/s-`, '', 2));
    await t.call(c, 'seq 2 ephemeral', OpCode.create, B.create(`${p}/s-`, '', 3));
    await t.call(c, 'delete a', OpCode.delete, B.delete(`${p}/a`));
    await t.call(c, 'delete c', OpCode.delete, B.delete(`${p}/c`));
    await t.call(c, 'seq 3', OpCode.create2, B.create(`${p}/s-`, '', 2));
    await t.call(c, 'seq no prefix', OpCode.create2, B.create(`${p}/`, '', 2));
    await t.call(c, 'failed create does not count', OpCode.create, B.create(`${p}/s-0000000004`));
    await t.call(c, 'seq after failed', OpCode.create2, B.create(`${p}/s-`, '', 2));
    await t.call(c, 'getChildren2', OpCode.getChildren2, B.getChildren(p));
    await t.call(c, 'getChildren', OpCode.getChildren, B.getChildren(p));
    await t.call(c, 'setData parent does not touch cversion', OpCode.setData, B.setData(p, 'x'));
    await t.call(c, 'setACL parent', OpCode.setACL, B.setACL(p, OPEN));
    await t.call(c, 'stat', OpCode.exists, B.exists(p));
    await t.call(c, 'seq child of seq', OpCode.create2, B.create(`${p}/s-0000000003/x`, '', 2));
    await t.close(c, 'close');
  });
});

test('sync, ping, whoAmI, unknown opcode, check at top level', async () => {
  await pair.check('misc-ops', async (t) => {
    const c = await t.connect('connect');
    await t.begin(c);
    const p = t.prefix;
    await t.call(c, 'sync missing path', OpCode.sync, B.sync(`${p}/missing`));
    await t.call(c, 'sync invalid path', OpCode.sync, B.sync('not/a/path'));
    await t.call(c, 'sync /', OpCode.sync, B.sync('/'));
    // Strings in replies are CESU-8 in ZooKeeper (one UTF-16 unit at a time); invalid UTF-8 in a
    // request decodes to U+FFFD.
    await t.call(c, 'sync non-BMP path', OpCode.sync, B.sync('/\u00e9/\ud83d\ude00/\u4e2d'));
    await t.call(c, 'sync invalid UTF-8', OpCode.sync, Buffer.from('000000097fffffff2ff09f9880', 'hex'));
    await t.call(c, 'sync truncated UTF-8', OpCode.sync, Buffer.from('000000042fe282', 'hex').subarray(0, 7));
    await t.call(c, 'exists non-BMP path', OpCode.exists, B.exists('/\ud83d\ude00', true));
    await t.call(c, 'create non-BMP path', OpCode.create, B.create(`${p}-\ud83d\ude00`));
    await t.call(c, 'ping', OpCode.ping, Buffer.alloc(0), -2);
    await t.call(c, 'whoAmI', OpCode.whoAmI);
    await t.call(c, 'getEphemerals none', OpCode.getEphemerals, B.ephemerals('/'));
    await t.state(c, 'still open');
    const c2 = await t.connect('connect 2');
    await t.call(c2, 'unknown opcode 999', 999, Buffer.from([1, 2, 3]));
    await t.state(c2, 'after unknown opcode');
    const c4 = await t.connect('connect 4');
    await t.call(c4, 'opcode 0', 0);
    await t.state(c4, 'after opcode 0');
    const c6 = await t.connect('connect 6');
    await t.call(c6, 'deleteContainer from client', 20, B.path(`${p}/x`));
    await t.state(c6, 'after deleteContainer');
    await t.call(c6, 'reconfig malformed', 16, Buffer.alloc(0));
    await t.call(c6, 'reconfig', 16, Buffer.from('ffffffffffffffffffffffff0000000000000000', 'hex'));
    await t.call(c6, 'sasl without SASL', 102, Buffer.from('0000000161', 'hex'));
    await t.call(c6, 'sasl empty token', 102, Buffer.from('00000000', 'hex'));
    await t.call(c6, 'ping with xid 7', OpCode.ping, Buffer.alloc(0), 7);
    await t.call(c6, 'ping with xid 0', OpCode.ping, Buffer.alloc(0), 0);
    await t.call(c6, 'create malformed', OpCode.create, Buffer.from([0]));
    await t.call(c6, 'create2 empty body', OpCode.create2);
    await t.call(c6, 'setData malformed', OpCode.setData, Buffer.from('0000000a2f', 'hex'));
    await t.call(c6, 'delete malformed', OpCode.delete, Buffer.from('ffff', 'hex'));
    await t.call(c6, 'setACL malformed', OpCode.setACL, Buffer.from('000000012f7fffffff', 'hex'));
    await t.call(c6, 'multi malformed', OpCode.multi, Buffer.from('0000000300', 'hex'));
    await t.call(c6, 'multiRead malformed', OpCode.multiRead, Buffer.from('00000004', 'hex'));
    await t.call(c6, 'exists malformed', OpCode.exists, Buffer.from('00000005', 'hex'));
    await t.call(c6, 'getData negative length', OpCode.getData, Buffer.from('fffffffe00', 'hex'));
    await t.call(c6, 'getData trailing bytes', OpCode.getData, Buffer.concat([B.getData('/'), Buffer.from('abcdef', 'hex')]));
    await t.call(c6, 'whoAmI with body', OpCode.whoAmI, Buffer.from('abcdef', 'hex'));
    await t.call(c6, 'getACL malformed', OpCode.getACL, Buffer.from('7fffffff', 'hex'));
    await t.call(c6, 'addWatch bad mode', OpCode.addWatch, B.addWatch(`${p}/x`, 7));
    await t.call(c6, 'checkWatches bad type', OpCode.checkWatches, B.watchType(`${p}/x`, 9));
    await t.call(c6, 'removeWatches bad type', OpCode.removeWatches, B.watchType(`${p}/x`, 0));
    await t.call(c6, 'getEphemerals malformed', OpCode.getEphemerals, Buffer.from('0000', 'hex'));
    await t.call(c6, 'getAllChildrenNumber malformed', OpCode.getAllChildrenNumber, Buffer.alloc(0));
    await t.call(c6, 'sync malformed', OpCode.sync, Buffer.alloc(0));
    await t.state(c6, 'still open after malformed requests');
    const c7 = await t.connect('connect 7');
    await t.call(c7, 'sasl malformed', 102, Buffer.alloc(0));
    await t.state(c7, 'after malformed sasl');
    await t.close(c, 'close');
  });
});

// Java decodes a null ustring (-1) as null, and "" is an alias of the root in its node map.
test('null and empty paths in every request kind', async () => {
  await pair.check('null-paths', async (t) => {
    const c = await t.connect('connect');
    await t.begin(c);
    const p = t.prefix;
    await t.call(c, 'create prefix', OpCode.create, B.create(p));
    // Java decodes a ustring of length -1 as null: replace the (empty) path's length with -1.
    const nul = (body: Buffer): Buffer => Buffer.concat([Buffer.from('ffffffff', 'hex'), body.subarray(4)]);
    type Mk = (n: (b: Buffer) => Buffer) => Buffer;
    const cases: [string, number, Mk][] = [
      ['exists', OpCode.exists, (n) => n(B.exists(''))],
      ['getData', OpCode.getData, (n) => n(B.getData(''))],
      ['getChildren', OpCode.getChildren, (n) => n(B.getChildren(''))],
      ['getChildren2', OpCode.getChildren2, (n) => n(B.getChildren(''))],
      ['getACL', OpCode.getACL, (n) => n(B.getACL(''))],
      ['getAllChildrenNumber', OpCode.getAllChildrenNumber, (n) => n(B.path(''))],
      ['sync', OpCode.sync, (n) => n(B.sync(''))],
      ['getEphemerals', OpCode.getEphemerals, (n) => n(B.ephemerals(''))],
      ['create', OpCode.create, (n) => n(B.create(''))],
      ['create2', OpCode.create2, (n) => n(B.create(''))],
      ['createContainer', OpCode.createContainer, (n) => n(B.create('', '', 4))],
      ['createTTL', OpCode.createTTL, (n) => n(B.createTTL('', '', 5, 1000))],
      ['delete', OpCode.delete, (n) => n(B.delete(''))],
      ['setData', OpCode.setData, (n) => n(B.setData('', 'x'))],
      ['setACL', OpCode.setACL, (n) => n(B.setACL('', OPEN))],
      ['checkWatches', OpCode.checkWatches, (n) => n(B.watchType('', 3))],
      ['removeWatches', OpCode.removeWatches, (n) => n(B.watchType('', 3))],
      ['addWatch', OpCode.addWatch, (n) => n(B.addWatch('', 0))],
      ['checkWatches after addWatch', OpCode.checkWatches, (n) => n(B.watchType('', 3))],
      ['removeWatches after addWatch', OpCode.removeWatches, (n) => n(B.watchType('', 3))],
    ];
    for (const [name, op, mk] of cases) {
      await t.call(
        c,
        `${name} ""`,
        op,
        mk((b) => b),
      );
      await t.call(c, `${name} null`, op, mk(nul));
    }
    await t.call(c, 'exists "" watch', OpCode.exists, B.exists('', true));
    await t.call(c, 'getData "" watch', OpCode.getData, B.getData('', true));
    await t.call(c, 'getChildren "" watch', OpCode.getChildren, B.getChildren('', true));
    await t.call(c, 'setData / to fire', OpCode.setData, B.setData('/', ''));
    await t.events(c, 'events for "" watches');
    await t.state(c, 'open');
    await t.close(c, 'close');
  });
});

// A known difference (docs/COMPATIBILITY.md): a null path inside multi/multiRead makes ZooKeeper
// 3.8 throw a NullPointerException before the txn header exists; it replies MARSHALLINGERROR with
// an empty (multi) or partial (multiRead) MultiResponse body, and a multi burns a zxid without
// applying a txn. We reply MARSHALLINGERROR with no body (a multi as an ErrorTxn).
test('null path inside multi/multiRead: MARSHALLINGERROR on both', async () => {
  const { apache, ours } = await pair.transcripts('null-in-multi', async (t) => {
    const c = await t.connect('connect');
    await t.begin(c);
    const p = t.prefix;
    const nul = (body: Buffer): Buffer => Buffer.concat([Buffer.from('ffffffff', 'hex'), body.subarray(4)]);
    await t.call(c, 'multi create', OpCode.multi, B.multi([M.create(`${p}`), { type: OpCode.create, body: nul(B.create('')) }]));
    await t.call(c, 'multi setData', OpCode.multi, B.multi([{ type: OpCode.setData, body: nul(B.setData('', 'x')) }]));
    await t.call(c, 'multiRead', OpCode.multiRead, B.multi([M.getData('/'), { type: OpCode.getData, body: nul(B.getData('')) }]));
    await t.call(c, 'exists prefix', OpCode.exists, B.exists(p));
  });
  for (const tr of [apache, ours]) {
    for (const label of ['multi create', 'multi setData', 'multiRead']) {
      assert.equal(tr.find((e) => e.label === label)?.err, 'MARSHALLINGERROR(-5)', label);
    }
    assert.equal(tr.find((e) => e.label === 'exists prefix')?.err, 'NONODE(-101)');
  }
  assert.deepEqual(apache.find((e) => e.label === 'multi create')?.body, [{ done: true, header: 'ffffffff01ffffffff' }]);
  assert.equal(ours.find((e) => e.label === 'multi create')?.body, '');
});

// A deliberate difference (docs/COMPATIBILITY.md): ZooKeeper 3.8 runs a top-level check (13) as a
// write. A failing check gets its error; a passing one consumes a zxid and then gets no reply at
// all (FinalRequestProcessor serialises a null SetDataResponse: NullPointerException, "Destruction
// averted"), which desynchronises every client. Later ZooKeeper rejects it (Request.isValid):
// UNIMPLEMENTED and a close, which is what we do in both cases.
test('check (13) at top level: 3.8 drops the reply, we answer UNIMPLEMENTED and close', async () => {
  const { apache, ours } = await pair.transcripts('top-level-check', async (t) => {
    const c = await t.connect('connect');
    await t.begin(c);
    const x = c.xid();
    c.send(x, OpCode.check, B.check('/', -1));
    await t.state(c, 'state after passing check');
    const reply = await c.replyOrClose(x, 200).catch(() => undefined);
    t.note('passing check reply', reply ? t.describeReply(OpCode.check, reply) : 'none');
    const c2 = await t.connect('connect 2');
    await t.call(c2, 'failing check', OpCode.check, B.check(`${t.prefix}/missing`, 3));
    await t.state(c2, 'state after failing check');
  });
  const get = (tr: typeof apache, label: string) => tr.find((e) => e.label === label);
  assert.deepEqual(get(apache, 'state after passing check'), { label: 'state after passing check', state: 'open' });
  assert.deepEqual(get(apache, 'passing check reply'), { label: 'passing check reply', value: 'none' });
  assert.deepEqual(get(apache, 'failing check'), { label: 'failing check', xid: 1, zxid: 3, err: 'NONODE(-101)', body: '' });
  assert.deepEqual(get(ours, 'state after passing check'), { label: 'state after passing check', state: 'closed' });
  assert.deepEqual(get(ours, 'passing check reply'), {
    label: 'passing check reply',
    value: { xid: 1, zxid: -1, err: 'UNIMPLEMENTED(-6)', body: '' },
  });
  assert.deepEqual(get(ours, 'failing check'), { label: 'failing check', xid: 1, zxid: -1, err: 'UNIMPLEMENTED(-6)', body: '' });
  assert.deepEqual(get(ours, 'state after failing check'), { label: 'state after failing check', state: 'closed' });
});

test('pipelined requests keep FIFO order; zxids advance per write', async () => {
  const t0 = await pair.check('pipeline', async (t) => {
    const c = await t.connect('connect');
    await t.begin(c);
    const p = t.prefix;
    await t.pipeline(c, 'burst', [
      { op: OpCode.create, body: B.create(p) },
      { op: OpCode.exists, body: B.exists(p) },
      { op: OpCode.create2, body: B.create(`${p}/a`, 'x') },
      { op: OpCode.getData, body: B.getData(`${p}/a`) },
      { op: OpCode.setData, body: B.setData(`${p}/a`, 'y', 5) },
      { op: OpCode.delete, body: B.delete(`${p}/a`) },
      { op: OpCode.getChildren, body: B.getChildren(p) },
      { op: OpCode.sync, body: B.sync(p) },
      { op: OpCode.ping, xid: -2 },
      { op: OpCode.exists, body: B.exists(`${p}/a`) },
    ]);
    await t.close(c, 'close');
  });
  assert.ok(t0.length > 10);
});
