// Differential: ACLs and authentication (digest, super, ip, the auth pseudo-scheme, whoAmI)
// against Apache ZooKeeper 3.8 and ours.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Pair, OpCode } from './harness.js';
import { B, M, OPEN, READ_ONLY, acl, digest } from './bodies.js';

// kazoo's CI super digest: password "test".
const SUPER_DIGEST = 'super:D/InIHSb7yEEbrWz8b9l71RjZJU=';

let pair: Pair;
before(async () => {
  pair = await Pair.start({ sysProps: { 'zookeeper.DigestAuthenticationProvider.superDigest': SUPER_DIGEST } });
});
after(async () => {
  await pair?.stop();
});

const U1 = digest('u1:p1');
const U2 = digest('u2:p2');

test('digest auth, NOAUTH denials in check order, getACL masking without ADMIN', async () => {
  await pair.check('digest', async (t) => {
    const a = await t.connect('u1');
    await t.begin(a);
    const n = await t.connect('nobody');
    const p = t.prefix;
    await t.call(a, 'auth u1', OpCode.auth, B.auth('digest', 'u1:p1'), -4);
    await t.call(a, 'whoAmI u1', OpCode.whoAmI);
    await t.call(
      a,
      'create prefix (u1 all, world read)',
      OpCode.create,
      B.create(p, 'd', 0, [acl(31, 'digest', U1), acl(1, 'world', 'anyone')]),
    );
    await t.call(a, 'create secret (u1 only)', OpCode.create2, B.create(`${p}/secret`, 's', 0, [acl(31, 'digest', U1)]));
    await t.call(a, 'create child of secret', OpCode.create, B.create(`${p}/secret/c`, 's', 0, OPEN));
    // Reads without READ.
    await t.call(n, 'getData secret', OpCode.getData, B.getData(`${p}/secret`));
    await t.call(n, 'getChildren secret', OpCode.getChildren, B.getChildren(`${p}/secret`));
    await t.call(n, 'getChildren2 secret', OpCode.getChildren2, B.getChildren(`${p}/secret`));
    await t.call(n, 'getAllChildrenNumber secret', OpCode.getAllChildrenNumber, B.path(`${p}/secret`));
    await t.call(n, 'getACL secret', OpCode.getACL, B.getACL(`${p}/secret`));
    await t.call(n, 'getACL prefix (masked)', OpCode.getACL, B.getACL(p));
    await t.call(a, 'getACL prefix as u1 (full)', OpCode.getACL, B.getACL(p));
    await t.call(n, 'getData child (open)', OpCode.getData, B.getData(`${p}/secret/c`));
    await t.call(
      n,
      'multiRead mixed',
      OpCode.multiRead,
      B.multi([M.getData(`${p}/secret`), M.getData(`${p}/secret/c`), M.getChildren(`${p}/secret`)]),
    );
    // Writes without permission; check order against other errors.
    await t.call(n, 'setData secret', OpCode.setData, B.setData(`${p}/secret`, 'x'));
    await t.call(n, 'setData secret bad version', OpCode.setData, B.setData(`${p}/secret`, 'x', 9));
    await t.call(n, 'create under secret', OpCode.create, B.create(`${p}/secret/x`));
    await t.call(n, 'create existing under secret', OpCode.create, B.create(`${p}/secret/c`));
    await t.call(n, 'create under prefix (no CREATE)', OpCode.create, B.create(`${p}/x`));
    await t.call(n, 'delete child of secret (no DELETE on parent)', OpCode.delete, B.delete(`${p}/secret/c`));
    await t.call(n, 'delete missing child of secret', OpCode.delete, B.delete(`${p}/secret/none`));
    await t.call(n, 'delete secret (no DELETE on prefix)', OpCode.delete, B.delete(`${p}/secret`, 99));
    await t.call(n, 'setACL secret', OpCode.setACL, B.setACL(`${p}/secret`, OPEN));
    await t.call(n, 'setACL secret invalid acl', OpCode.setACL, B.setACL(`${p}/secret`, []));
    await t.call(n, 'setACL missing invalid acl', OpCode.setACL, B.setACL(`${p}/none`, []));
    await t.call(n, 'multi setData secret', OpCode.multi, B.multi([M.check(`${p}/secret`, 0)]));
    await t.call(n, 'multi create under secret', OpCode.multi, B.multi([M.create(`${p}/secret/y`)]));
    // The owner can.
    await t.call(a, 'setACL bad version', OpCode.setACL, B.setACL(`${p}/secret`, OPEN, 5));
    await t.call(a, 'setACL version 0', OpCode.setACL, B.setACL(`${p}/secret`, [acl(31, 'digest', U1), acl(3, 'world', 'anyone')], 0));
    await t.call(n, 'getData secret now readable', OpCode.getData, B.getData(`${p}/secret`));
    await t.call(n, 'getACL secret (READ, masked)', OpCode.getACL, B.getACL(`${p}/secret`));
    await t.call(n, 'setData secret now writable', OpCode.setData, B.setData(`${p}/secret`, 'w'));
    await t.call(a, 'setACL any version', OpCode.setACL, B.setACL(`${p}/secret`, [acl(16, 'digest', U2)], -1));
    await t.call(a, 'getACL as u1 (ADMIN only for u2)', OpCode.getACL, B.getACL(`${p}/secret`));
    await t.call(a, 'setACL as u1 without ADMIN', OpCode.setACL, B.setACL(`${p}/secret`, OPEN));
    await t.close(a, 'close u1');
    await t.close(n, 'close nobody');
  });
});

test('the auth pseudo-scheme, several identities, whoAmI', async () => {
  await pair.check('auth-scheme', async (t) => {
    const a = await t.connect('a');
    await t.begin(a);
    const p = t.prefix;
    await t.call(a, 'create with auth scheme, unauthenticated', OpCode.create, B.create(p, '', 0, [acl(31, 'auth', '')]));
    await t.call(a, 'auth u1', OpCode.auth, B.auth('digest', 'u1:p1'), -4);
    await t.call(a, 'auth u2', OpCode.auth, B.auth('digest', 'u2:p2'), -4);
    await t.call(a, 'auth u1 again', OpCode.auth, B.auth('digest', 'u1:p1'), -4);
    await t.call(a, 'auth ip scheme', OpCode.auth, B.auth('ip', 'whatever'), -4);
    await t.call(a, 'auth with odd xid', OpCode.auth, B.auth('digest', 'u3:p3'), 17);
    await t.call(a, 'auth digest without colon', OpCode.auth, B.auth('digest', 'nocolon'), -4);
    await t.call(a, 'auth digest empty', OpCode.auth, B.auth('digest', ''), -4);
    await t.call(a, 'auth non-BMP user', OpCode.auth, B.auth('digest', '\ud83d\ude00\u00fc:pw'), -4);
    await t.call(a, 'whoAmI', OpCode.whoAmI);
    await t.call(a, 'create with auth scheme', OpCode.create, B.create(p, '', 0, [acl(31, 'auth', 'ignored')]));
    await t.call(a, 'getACL', OpCode.getACL, B.getACL(p));
    await t.call(a, 'create with auth + world', OpCode.create, B.create(`${p}/b`, '', 0, [acl(1, 'world', 'anyone'), acl(7, 'auth', '')]));
    await t.call(a, 'getACL b', OpCode.getACL, B.getACL(`${p}/b`));
    await t.call(a, 'setACL with auth', OpCode.setACL, B.setACL(`${p}/b`, [acl(31, 'auth', '')]));
    await t.call(a, 'getACL b after', OpCode.getACL, B.getACL(`${p}/b`));
    await t.call(
      a,
      'create with a non-BMP digest id',
      OpCode.create,
      B.create(`${p}/u`, '', 0, [acl(31, 'digest', '\ud83d\ude00:x'), acl(1, 'world', 'anyone')]),
    );
    await t.call(a, 'getACL non-BMP', OpCode.getACL, B.getACL(`${p}/u`));
    await t.close(a, 'close');
  });
});

test('bad auth schemes: AUTHFAILED then close; malformed auth: close', async () => {
  await pair.check('bad-auth', async (t) => {
    const first = await t.connect('first');
    await t.begin(first);
    await t.close(first, 'close first');
    for (const scheme of ['nope', 'world', 'super', 'sasl', 'x509', '', 'auth', 'DIGEST']) {
      const c = await t.connect(`connect for ${scheme || 'empty'}`);
      await t.call(c, `auth scheme ${JSON.stringify(scheme)}`, OpCode.auth, B.auth(scheme, 'u:p'), -4);
      await t.state(c, `after ${JSON.stringify(scheme)}`);
    }
    const c = await t.connect('connect for null auth data');
    await t.call(c, 'digest with null auth', OpCode.auth, Buffer.from('0000000000000006646967657374ffffffff', 'hex'), -4);
    await t.state(c, 'after null auth');
    const m = await t.connect('connect for malformed');
    await t.call(m, 'malformed auth packet', OpCode.auth, Buffer.from('00000000ffff', 'hex'), -4);
    await t.state(m, 'after malformed auth');
  });
});

test('super digest sees and changes everything', async () => {
  await pair.check('super', async (t) => {
    const a = await t.connect('owner');
    await t.begin(a);
    const s = await t.connect('super');
    const p = t.prefix;
    await t.call(a, 'auth u1', OpCode.auth, B.auth('digest', 'u1:p1'), -4);
    await t.call(a, 'create locked', OpCode.create, B.create(p, 'secret', 0, [acl(31, 'digest', U1)]));
    await t.call(s, 'getData before super', OpCode.getData, B.getData(p));
    await t.call(s, 'auth wrong super password', OpCode.auth, B.auth('digest', 'super:nope'), -4);
    await t.call(s, 'getData with wrong super', OpCode.getData, B.getData(p));
    await t.call(s, 'auth super', OpCode.auth, B.auth('digest', 'super:test'), -4);
    await t.call(s, 'whoAmI super', OpCode.whoAmI);
    await t.call(s, 'getData', OpCode.getData, B.getData(p));
    await t.call(s, 'getACL (not masked)', OpCode.getACL, B.getACL(p));
    await t.call(s, 'setData', OpCode.setData, B.setData(p, 'super was here'));
    await t.call(s, 'create child', OpCode.create, B.create(`${p}/c`, '', 0, [acl(31, 'digest', U2)]));
    await t.call(s, 'getData child', OpCode.getData, B.getData(`${p}/c`));
    await t.call(s, 'delete child', OpCode.delete, B.delete(`${p}/c`));
    await t.call(s, 'setACL', OpCode.setACL, B.setACL(p, READ_ONLY));
    await t.call(s, 'write /zookeeper/config', OpCode.setData, B.setData('/zookeeper/config', 'x', 12345));
    await t.call(a, 'owner setData after setACL', OpCode.setData, B.setData(p, 'x'));
    await t.call(s, 'delete', OpCode.delete, B.delete(p));
    await t.close(a, 'close owner');
    await t.close(s, 'close super');
  });
});

test('ip ACLs', async () => {
  await pair.check('ip', async (t) => {
    const a = await t.connect('a');
    await t.begin(a);
    const p = t.prefix;
    await t.call(a, 'create prefix', OpCode.create, B.create(p));
    const cases: [string, number, string][] = [
      ['exact', 31, '127.0.0.1'],
      ['cidr 8', 31, '127.0.0.0/8'],
      ['cidr 32', 31, '127.0.0.1/32'],
      ['cidr 0', 1, '0.0.0.0/0'],
      ['other host', 31, '10.1.2.3'],
      ['other net', 31, '10.0.0.0/8'],
      ['cidr 31 neighbour', 31, '127.0.0.0/31'],
      ['cidr 31 miss', 31, '127.0.0.2/31'],
      ['leading zeros', 31, '127.000.000.001'],
      ['plus sign', 31, '+127.0.0.1'],
      ['hostname', 31, 'localhost'],
    ];
    let i = 0;
    for (const [label, perms, id] of cases) {
      const path = `${p}/n${i++}`;
      await t.call(a, `create ${label}`, OpCode.create, B.create(path, label, 0, [acl(perms, 'ip', id)]));
      await t.call(a, `getData ${label}`, OpCode.getData, B.getData(path));
      await t.call(a, `setData ${label}`, OpCode.setData, B.setData(path, 'w'));
    }
    await t.close(a, 'close');
  });
});

// Since 3.8.4 (CVE-2024-23944) ZooKeeper drops watch events for nodes the watching session may
// not READ; Debian's 3.8.0-11+deb12u2 carries that fix too.
test('watch events on nodes the watcher cannot read are dropped', async () => {
  await pair.check('acl-events', async (t) => {
    const w = await t.connect('watcher');
    await t.begin(w);
    const a = await t.connect('owner');
    const p = t.prefix;
    await t.call(a, 'auth', OpCode.auth, B.auth('digest', 'u1:p1'), -4);
    await t.call(a, 'create open prefix', OpCode.create, B.create(p));
    await t.call(w, 'exists watch on future secret', OpCode.exists, B.exists(`${p}/secret`, true));
    await t.call(w, 'exists watch on future open', OpCode.exists, B.exists(`${p}/open`, true));
    await t.call(w, 'child watch on prefix', OpCode.getChildren, B.getChildren(p, true));
    await t.call(a, 'create secret', OpCode.create, B.create(`${p}/secret`, '', 0, [acl(31, 'digest', U1)]));
    await t.call(a, 'create open', OpCode.create, B.create(`${p}/open`));
    await t.events(w, 'events');
    await t.call(a, 'create secret dir', OpCode.create, B.create(`${p}/sd`, '', 0, [acl(31, 'digest', U1)]));
    await t.call(w, 'persistent recursive watch on prefix', OpCode.addWatch, B.addWatch(p, 1));
    await t.call(a, 'create under secret dir (open)', OpCode.create, B.create(`${p}/sd/x`));
    await t.call(a, 'setData secret', OpCode.setData, B.setData(`${p}/secret`, 'x'));
    await t.call(a, 'setData open', OpCode.setData, B.setData(`${p}/open`, 'x'));
    await t.call(a, 'delete secret', OpCode.delete, B.delete(`${p}/secret`));
    await t.events(w, 'recursive events');
    await t.close(w, 'close w');
    await t.close(a, 'close a');
  });
});

// A deliberate difference (docs/COMPATIBILITY.md): 3.8.4's FinalRequestProcessor checks READ on
// exists; the Debian 3.8.0 oracle returns the Stat of a node the session cannot read.
test('exists on a node the session cannot read: 3.8.0 answers, 3.8.4 and ours NOAUTH', async () => {
  const { apache, ours } = await pair.transcripts('acl-exists', async (t) => {
    const w = await t.connect('reader');
    await t.begin(w);
    const a = await t.connect('owner');
    const p = t.prefix;
    await t.call(a, 'auth', OpCode.auth, B.auth('digest', 'u1:p1'), -4);
    await t.call(a, 'create secret', OpCode.create, B.create(p, '', 0, [acl(31, 'digest', U1)]));
    await t.call(w, 'exists on a node without READ', OpCode.exists, B.exists(p));
  });
  assert.equal(apache.find((e) => e.label === 'exists on a node without READ')?.err, 'OK');
  assert.equal(ours.find((e) => e.label === 'exists on a node without READ')?.err, 'NOAUTH(-102)');
});
