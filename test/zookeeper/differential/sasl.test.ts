// Differential: SASL DIGEST-MD5 packets (op 102) byte for byte against Apache ZooKeeper 3.8 with
// the same JAAS file: the challenge, a right and a wrong response, hostile tokens, what the
// connection may do afterwards, and zookeeper.sessionRequireClientSASLAuth. Nonces differ between
// the two servers, so the challenge's nonce and the rspauth value are masked after checking that
// our rspauth is the right one. (Real clients are in test/interop/zkcliSasl.test.ts and kazoo.)

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertSameTranscript, type Ctx, type Entry, OpCode, Pair } from './harness.js';
import { B, acl } from './bodies.js';
import { parseDirectives, responseValue } from '../../../src/zookeeper/server/sasl/digestMd5.js';
import type { RawClient } from '../../helpers/rawClient.js';

const SASL_PROVIDER = 'org.apache.zookeeper.server.auth.SASLAuthenticationProvider';
const JAAS = 'Server {\n  org.apache.zookeeper.server.auth.DigestLoginModule required\n    user_bob="bobsecret";\n};\n';

/** A GetSASLRequest body. */
function saslBody(token: Buffer | null): Buffer {
  if (token === null) return Buffer.from('ffffffff', 'hex');
  const b = Buffer.alloc(4 + token.length);
  b.writeInt32BE(token.length, 0);
  token.copy(b, 4);
  return b;
}

/** The token of a SetSASLResponse body. */
function tokenOf(body: Buffer): string {
  const n = body.readInt32BE(0);
  return n < 0 ? '' : body.subarray(4, 4 + n).toString('utf8');
}

/** A digest-response to the challenge for `user`/`password` (the client side of RFC 2831). */
function answer(challenge: string, user: string, password: string): { response: string; rspauth: string } {
  const d = parseDirectives(challenge);
  const p = {
    username: user,
    realm: d.get('realm')!,
    password,
    nonce: d.get('nonce')!,
    cnonce: 'differentialcnonce',
    nc: '00000001',
    qop: 'auth',
    digestUri: 'zookeeper/zk-sasl-md5',
    authzid: undefined,
  };
  const response =
    `charset=utf-8,username="${user}",realm="${p.realm}",nonce="${p.nonce}",nc=00000001,cnonce="${p.cnonce}",` +
    `digest-uri="${p.digestUri}",maxbuf=65536,response=${responseValue(p, 'AUTHENTICATE')},qop=auth`;
  return { response, rspauth: `rspauth=${responseValue(p, '')}` };
}

/** Runs the SASL exchange on c; returns whether the server's rspauth was the expected one. */
async function login(t: Ctx, c: RawClient, label: string, user: string, password: string): Promise<boolean> {
  const ch = await t.call(c, `${label}: challenge`, OpCode.sasl, saslBody(Buffer.alloc(0)));
  if (ch?.err !== 0) return false;
  const a = answer(tokenOf(ch.body), user, password);
  const r = await t.call(c, `${label}: response`, OpCode.sasl, saslBody(Buffer.from(a.response)));
  return r !== undefined && r.err === 0 && tokenOf(r.body) === a.rspauth;
}

/** Masks what two servers cannot share: the nonce in challenges, the rspauth value. */
function masked(entries: Entry[]): Entry[] {
  return entries.map((e) => {
    const body = (e as { body?: unknown }).body;
    if (typeof body !== 'string' || !/^(RAW:)?[0-9a-f]+$/.test(body)) return e;
    const text = Buffer.from(body.replace(/^RAW:/, ''), 'hex').toString('latin1');
    if (!/nonce="|rspauth=/.test(text)) return e;
    const m = text.replace(/nonce="[^"]*"/, 'nonce="N"').replace(/rspauth=[0-9a-f]{32}/, 'rspauth=R');
    return { ...e, body: m };
  });
}

async function checkMasked(pair: Pair, name: string, scenario: (t: Ctx) => Promise<void>): Promise<Entry[]> {
  const { apache, ours } = await pair.transcripts(name, scenario);
  assertSameTranscript(masked(apache), masked(ours));
  return masked(ours);
}

describe('SASL DIGEST-MD5 against Apache ZooKeeper 3.8', () => {
  let dir: string;
  let pair: Pair;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cg-dsasl-'));
    await writeFile(join(dir, 'jaas.conf'), JAAS);
    pair = await Pair.start({
      extraConfig: { 'authProvider.1': SASL_PROVIDER },
      sysProps: { 'java.security.auth.login.config': join(dir, 'jaas.conf') },
    });
  });
  after(async () => {
    await pair?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('login, the sasl id, a sasl ACL, and a wrong password', async () => {
    const ours = await checkMasked(pair, 'sasl-login', async (t) => {
      const c = await t.connect('connect');
      await t.begin(c);
      t.note('rspauth verified', await login(t, c, 'bob', 'bob', 'bobsecret'));
      await t.call(c, 'whoAmI', OpCode.whoAmI);
      await t.call(c, 'create under sasl:bob', OpCode.create, B.create(t.prefix, 'x', 0, [acl(31, 'sasl', 'bob')]));
      await t.call(c, 'getData as bob', OpCode.getData, B.getData(t.prefix));
      const d = await t.connect('connect 2');
      await t.call(d, 'getData unauthenticated', OpCode.getData, B.getData(t.prefix));
      t.note('wrong password verified', await login(t, d, 'wrong', 'bob', 'nope'));
      await t.state(d, 'after a wrong password');
      await t.call(c, 'delete', OpCode.delete, B.delete(t.prefix));
      await t.call(c, 'sasl after completion', OpCode.sasl, saslBody(Buffer.alloc(0)));
      await t.state(c, 'after a SASL packet past completion');
    });
    const at = (label: string): Record<string, unknown> => ours.find((e) => e.label === label) as unknown as Record<string, unknown>;
    assert.deepEqual(at('rspauth verified'), { label: 'rspauth verified', value: true });
    assert.equal(at('getData as bob').err, 'OK');
    assert.equal(at('getData unauthenticated').err, 'NOAUTH(-102)');
    assert.deepEqual(at('wrong: response'), { label: 'wrong: response', xid: 3, zxid: 0, err: 'AUTHFAILED(-115)', body: 'ffffffff' });
    assert.deepEqual(at('after a wrong password'), { label: 'after a wrong password', state: 'closed' });
    assert.equal(at('delete').err, 'OK');
    assert.equal(at('sasl after completion').err, 'AUTHFAILED(-115)');
  });

  test('hostile tokens: initial response, oversized, unknown user, garbage, null', async () => {
    const ours = await checkMasked(pair, 'sasl-hostile', async (t) => {
      const c1 = await t.connect('connect 1');
      await t.call(c1, 'non-empty first token (another mechanism)', OpCode.sasl, saslBody(Buffer.from('GSSAPI-ish initial token')));
      await t.state(c1, 'after a non-empty first token');
      const c2 = await t.connect('connect 2');
      await t.call(c2, 'challenge', OpCode.sasl, saslBody(Buffer.alloc(0)));
      await t.call(c2, 'oversized response', OpCode.sasl, saslBody(Buffer.alloc(5000, 0x61)));
      await t.state(c2, 'after an oversized response');
      const c3 = await t.connect('connect 3');
      t.note('unknown user', await login(t, c3, 'nobody', 'nobody', 'x'));
      await t.state(c3, 'after an unknown user');
      const c4 = await t.connect('connect 4');
      await t.call(c4, 'challenge', OpCode.sasl, saslBody(Buffer.alloc(0)));
      await t.call(c4, 'garbage response', OpCode.sasl, saslBody(Buffer.from('\u0000\u0001 not=a"digest')));
      await t.state(c4, 'after a garbage response');
      const c5 = await t.connect('connect 5');
      await t.call(c5, 'null token', OpCode.sasl, saslBody(null));
      await t.state(c5, 'after a null token');
    });
    const states = ours.filter((e) => 'state' in e).map((e) => `${e.label}: ${(e as unknown as { state: string }).state}`);
    assert.deepEqual(states, [
      'after a non-empty first token: open',
      'after an oversized response: closed',
      'after an unknown user: closed',
      'after a garbage response: closed',
      'after a null token: closed',
    ]);
  });
});

describe('zookeeper.sessionRequireClientSASLAuth against Apache ZooKeeper 3.8', () => {
  let dir: string;
  let pair: Pair;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cg-dsasl-'));
    await writeFile(join(dir, 'jaas.conf'), JAAS);
    pair = await Pair.start({
      extraConfig: { 'authProvider.1': SASL_PROVIDER },
      sysProps: { 'java.security.auth.login.config': join(dir, 'jaas.conf'), 'zookeeper.sessionRequireClientSASLAuth': 'true' },
    });
  });
  after(async () => {
    await pair?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('requests before SASL are refused and the connection closed; after SASL they work', async () => {
    const ours = await checkMasked(pair, 'sasl-required', async (t) => {
      const c1 = await t.connect('connect 1');
      await t.call(c1, 'getData before SASL', OpCode.getData, B.getData('/'));
      await t.state(c1, 'after a request before SASL');
      const c2 = await t.connect('connect 2');
      await t.call(c2, 'auth digest before SASL', OpCode.auth, B.auth('digest', 'a:b'));
      await t.call(c2, 'exists after digest auth', OpCode.exists, B.exists('/'));
      await t.state(c2, 'after digest auth');
      const c3 = await t.connect('connect 3');
      t.note('rspauth verified', await login(t, c3, 'bob', 'bob', 'bobsecret'));
      await t.call(c3, 'exists after SASL', OpCode.exists, B.exists('/zookeeper'));
      const c4 = await t.connect('connect 4');
      t.note('wrong password', await login(t, c4, 'wrong', 'bob', 'nope'));
      await t.state(c4, 'after a wrong password');
    });
    const err = (label: string): unknown => (ours.find((e) => e.label === label) as unknown as { err: unknown }).err;
    assert.equal(err('getData before SASL'), 'SESSIONCLOSEDREQUIRESASLAUTH(-124)');
    assert.equal(err('exists after digest auth'), 'SESSIONCLOSEDREQUIRESASLAUTH(-124)');
    assert.equal(err('exists after SASL'), 'OK');
    assert.equal(err('wrong: response'), 'SESSIONCLOSEDREQUIRESASLAUTH(-124)');
  });
});
