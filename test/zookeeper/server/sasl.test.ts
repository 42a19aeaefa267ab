// SASL units: the DIGEST-MD5 server core against RFC 2831's example (with its errata values) and
// hostile tokens, the JAAS parser against good and garbage files, the sasl ACL provider, and the
// configuration path from -D properties to the loaded users.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DigestMd5Server,
  parseDirectives,
  responseValue,
  SaslError,
  saslTokenBytesMax,
  type DigestParams,
} from '../../../src/zookeeper/server/sasl/digestMd5.js';
import { digestUsers, JaasError, parseJaas } from '../../../src/zookeeper/server/sasl/jaas.js';
import { defaultSaslOptions, SaslAuthenticator, validSaslAclId } from '../../../src/zookeeper/server/sasl/saslAuth.js';
import { checkAcl, fixupAcl } from '../../../src/zookeeper/server/acl.js';
import { ConfigError, parseZooCfg } from '../../../src/zookeeper/config.js';
import { Err } from '../../../src/zookeeper/protocol/constants.js';

// RFC 2831 section 4, the IMAP example; response and rspauth as corrected by the RFC's errata.
const RFC: DigestParams = {
  username: 'chris',
  realm: 'elwood.innosoft.com',
  password: 'secret',
  nonce: 'OA6MG9tEQGm2hh',
  cnonce: 'OA6MHXh6VqTrRk',
  nc: '00000001',
  qop: 'auth',
  digestUri: 'imap/elwood.innosoft.com',
  authzid: undefined,
};

test('RFC 2831 example: response and rspauth values', () => {
  assert.equal(responseValue(RFC, 'AUTHENTICATE'), 'd388dad90d4bbd760a152321f2143af7');
  assert.equal(responseValue(RFC, ''), 'ea40f60335c427b5527b84dbabcdfffd');
});

function rfcServer(): DigestMd5Server {
  return new DigestMd5Server({
    protocol: 'imap',
    serverName: 'elwood.innosoft.com',
    nonce: RFC.nonce,
    passwordOf: (u) => (u === 'chris' ? 'secret' : undefined),
  });
}

const RFC_RESPONSE =
  'charset=utf-8,username="chris",realm="elwood.innosoft.com",nonce="OA6MG9tEQGm2hh",nc=00000001,' +
  'cnonce="OA6MHXh6VqTrRk",digest-uri="imap/elwood.innosoft.com",response=d388dad90d4bbd760a152321f2143af7,qop=auth';

test('RFC 2831 example: the server challenges, verifies the response and answers rspauth', () => {
  const s = rfcServer();
  const challenge = s.evaluate(Buffer.alloc(0)).toString();
  // As Java's provider: no qop directive when only auth is offered.
  assert.equal(challenge, 'realm="elwood.innosoft.com",nonce="OA6MG9tEQGm2hh",charset=utf-8,algorithm=md5-sess');
  assert.equal(s.isComplete, false);
  assert.equal(s.evaluate(Buffer.from(RFC_RESPONSE)).toString(), 'rspauth=ea40f60335c427b5527b84dbabcdfffd');
  assert.equal(s.isComplete, true);
  assert.equal(s.authorizationId, 'chris');
  // A finished exchange takes no more tokens.
  assert.throws(() => s.evaluate(Buffer.alloc(0)), SaslError);
});

test('DIGEST-MD5: wrong password, unknown user and tampered fields fail with SaslError', () => {
  const cases: [string, string | RegExp][] = [
    [RFC_RESPONSE.replace('d388dad9', 'd388dad8'), /authentication of "chris" failed/],
    [RFC_RESPONSE.replace('"chris"', '"mallory"'), /authentication of "mallory" failed/],
    [RFC_RESPONSE.replace('nonce="OA6MG9tEQGm2hh"', 'nonce="replayed"'), /nonce does not match/],
    [RFC_RESPONSE.replace('nc=00000001', 'nc=00000002'), /nonce count/],
    [RFC_RESPONSE.replace('imap/elwood', 'smtp/elwood'), /digest-uri/],
    [RFC_RESPONSE.replace('realm="elwood.innosoft.com"', 'realm="other"'), /unknown realm/],
    [RFC_RESPONSE.replace('qop=auth', 'qop=auth-conf'), /qop auth-conf was not offered/],
    [RFC_RESPONSE.replace('charset=utf-8', 'charset=latin1'), /charset/],
    [RFC_RESPONSE.replace(',response=d388dad90d4bbd760a152321f2143af7', ''), /lacks the required directive response/],
    [RFC_RESPONSE.replace('response=d388dad90d4bbd760a152321f2143af7', 'response=zz'), /32 hex digits/],
    [`${RFC_RESPONSE},username="chris"`, /more than once/],
    ['username="chris', /unterminated/],
    ['=x', /expected a directive name/],
    ['username', /has no '='/],
    ['username="a" realm="b"', /expected ','/],
  ];
  for (const [response, re] of cases) {
    const s = rfcServer();
    s.evaluate(Buffer.alloc(0));
    assert.throws(
      () => s.evaluate(Buffer.from(response)),
      (e: unknown) => e instanceof SaslError && e.message.match(re) !== null,
      response,
    );
    assert.equal(s.isComplete, false);
    assert.equal(s.authorizationId, undefined);
    // The exchange is over after a failure, even for the right answer.
    assert.throws(() => s.evaluate(Buffer.from(RFC_RESPONSE)), SaslError);
  }
});

test('DIGEST-MD5: an initial response is ignored (as Java does); oversized and non-UTF-8 tokens are refused', () => {
  const first = rfcServer();
  assert.match(first.evaluate(Buffer.from('GSSAPI-ish')).toString(), /^realm="elwood\.innosoft\.com",nonce=/);
  assert.throws(() => rfcServer().evaluate(Buffer.alloc(saslTokenBytesMax + 1)), /exceeds saslTokenBytesMax/);
  const s = rfcServer();
  s.evaluate(Buffer.alloc(0));
  assert.throws(() => s.evaluate(Buffer.alloc(saslTokenBytesMax + 1, 0x61)), /exceeds saslTokenBytesMax \(4096 bytes\)/);
  const u = rfcServer();
  u.evaluate(Buffer.alloc(0));
  assert.throws(() => u.evaluate(Buffer.from([0x75, 0x3d, 0xff, 0xfe])), /not valid UTF-8/);
  const many = rfcServer();
  many.evaluate(Buffer.alloc(0));
  const directives = Array.from({ length: 40 }, (_, i) => `x${i}=1`).join(',');
  assert.throws(() => many.evaluate(Buffer.from(directives)), /more than 32 directives/);
});

test('DIGEST-MD5: authzid takes part in A1; quoted values unescape; names are case-insensitive', () => {
  const withAuthz = { ...RFC, authzid: 'chris' };
  assert.notEqual(responseValue(withAuthz, 'AUTHENTICATE'), responseValue(RFC, 'AUTHENTICATE'));
  const s = rfcServer();
  s.evaluate(Buffer.alloc(0));
  const resp = RFC_RESPONSE.replace('response=d388dad90d4bbd760a152321f2143af7', `response=${responseValue(withAuthz, 'AUTHENTICATE')}`);
  assert.equal(s.evaluate(Buffer.from(`${resp}, AUTHZID="chris"`)).toString(), `rspauth=${responseValue(withAuthz, '')}`);
  assert.deepEqual(
    [...parseDirectives(' a = "x\\"y\\\\z" ,, B=tok ')],
    [
      ['a', 'x"y\\z'],
      ['b', 'tok'],
    ],
  );
});

test('DIGEST-MD5: non-Latin-1 user names hash in UTF-8, Latin-1 ones in ISO 8859-1 (RFC 2831 2.1.2.1)', () => {
  const latin = { ...RFC, username: 'jörg' };
  const h = (b: Buffer): Buffer => createHash('md5').update(b).digest();
  const userHash = h(Buffer.concat([Buffer.from('jörg', 'latin1'), Buffer.from(':elwood.innosoft.com:secret')]));
  const ha1 = h(Buffer.concat([userHash, Buffer.from(`:${RFC.nonce}:${RFC.cnonce}`)])).toString('hex');
  const ha2 = h(Buffer.from(`AUTHENTICATE:${RFC.digestUri}`)).toString('hex');
  const expected = h(Buffer.from(`${ha1}:${RFC.nonce}:00000001:${RFC.cnonce}:auth:${ha2}`)).toString('hex');
  assert.equal(responseValue(latin, 'AUTHENTICATE'), expected);
  assert.notEqual(
    responseValue({ ...RFC, username: 'ユーザー' }, 'AUTHENTICATE'),
    responseValue({ ...RFC, username: '?' }, 'AUTHENTICATE'),
  );
});

const JAAS = `/* ZooKeeper server */
Server {
  org.apache.zookeeper.server.auth.DigestLoginModule required
    user_super="adminsecret" // the super user
    user_bob="bob\\"secret";
};
Client { org.apache.zookeeper.server.auth.DigestLoginModule required username="bob" password=bobsecret; };
Server { other.Module OPTIONAL user_eve="e"; };
`;

test('JAAS: sections, options, comments, quoting, merged sections', () => {
  const j = parseJaas(JAAS, 'jaas.conf');
  assert.deepEqual([...j.keys()], ['Server', 'Client']);
  const server = j.get('Server')!;
  assert.equal(server.length, 2);
  assert.equal(server[0]!.loginModule, 'org.apache.zookeeper.server.auth.DigestLoginModule');
  assert.equal(server[0]!.flag, 'required');
  assert.equal(server[0]!.line, 3);
  assert.equal(server[1]!.flag, 'optional');
  assert.deepEqual(
    [...digestUsers(server)],
    [
      ['super', 'adminsecret'],
      ['bob', 'bob"secret'],
      ['eve', 'e'],
    ],
  );
  assert.equal(j.get('Client')![0]!.options.get('password'), 'bobsecret');
  assert.equal(parseJaas('', 'empty.conf').size, 0);
  assert.equal(parseJaas('// nothing\n/* at all */\n', 'c.conf').size, 0);
});

test('JAAS: garbage is refused with the file and line', () => {
  const bad: [string, RegExp][] = [
    ['Server {\n  Mod required user_a="x"\n};\n', /^f\.conf line 3: expected an option name or ';' to end the Mod entry but found '}'/],
    ['Server {\n  Mod sometimes;\n};', /^f\.conf line 2: expected a control flag/],
    ['Server {\n  Mod required user_a=;\n};', /^f\.conf line 2: expected a value for option user_a but found ';'/],
    ['Server {\n  Mod required;\n}', /^f\.conf line 3 \(end of file\): expected ';'/],
    ['Server \n Mod required;', /^f\.conf line 2: expected '\{' but found 'Mod'/],
    ['Server {\n  Mod required user_a="x;\n};', /^f\.conf line 2: quoted value is not closed on its line/],
    ['/* open\n\nServer {};', /^f\.conf line 1: comment opened with \/\* is never closed/],
    ['Server {\n  Mod required user_a=x&y;\n};', /^f\.conf line 2: unexpected character '&'/],
    ['{ };', /^f\.conf line 1: expected a section name/],
    ['\u0000\u0001\u0002', /unexpected character/],
  ];
  for (const [text, re] of bad) {
    assert.throws(
      () => parseJaas(text, 'f.conf'),
      (e: unknown) => e instanceof JaasError && re.test(e.message),
      JSON.stringify(text),
    );
  }
  assert.throws(() => parseJaas('x'.repeat(1024 * 1024 + 1), 'big.conf'), /larger than 1048576 bytes/);
});

test('config: -D properties load the JAAS users; bad JAAS files refuse to start naming file and line', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cg-sasl-'));
  try {
    const good = join(dir, 'server.jaas');
    await writeFile(good, JAAS);
    const cfg = `dataDir=${dir}\nclientPort=2181\nauthProvider.1=org.apache.zookeeper.server.auth.SASLAuthenticationProvider\n`;
    const props = { 'java.security.auth.login.config': good, 'zookeeper.superUser': 'super' };
    // The second Server entry names another login module: Kerberos and friends are refused.
    assert.throws(
      () => parseZooCfg(cfg, dir, props),
      (e: unknown) => e instanceof ConfigError && /line 8: login module other\.Module/.test(e.message),
    );
    await writeFile(good, JAAS.split('\n').slice(0, 7).join('\n'));
    const sasl = parseZooCfg(cfg, dir, props).options.sasl!;
    assert.deepEqual([...sasl.users!.keys()], ['super', 'bob']);
    assert.deepEqual(sasl.superUsers, ['super']);
    assert.equal(sasl.aclProvider, true);
    // Another section name: no Server section means no SASL, as in ZooKeeper.
    const other = parseZooCfg(cfg, dir, { ...props, 'zookeeper.sasl.serverconfig': 'Nope' }).options.sasl!;
    assert.equal(other.users, undefined);
    const broken = join(dir, 'broken.jaas');
    await writeFile(broken, 'Server {\n  Mod required user_a\n};\n');
    assert.throws(
      () => parseZooCfg(cfg, dir, { 'java.security.auth.login.config': broken }),
      (e: unknown) => e instanceof ConfigError && e.message.startsWith(`${broken} line 3: expected '='`),
    );
    assert.throws(
      () => parseZooCfg(cfg, dir, { 'java.security.auth.login.config': join(dir, 'missing.jaas') }),
      (e: unknown) => e instanceof ConfigError && /cannot read the JAAS login configuration .*missing\.jaas/.test(e.message),
    );
    // Without any SASL setting nothing changes.
    assert.equal(parseZooCfg(`dataDir=${dir}\nclientPort=2181\n`, dir).options.sasl, undefined);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('authenticator: ids on success, super user, AUTHFAILED + close on failure, allowSaslFailedClients', () => {
  const opts = { ...defaultSaslOptions(), users: new Map([['bob', 'pw']]), superUsers: ['bob'] };
  const nonce = 'N0nce';
  const auth = new SaslAuthenticator(opts, () => nonce);
  const conn = {};
  const first = auth.step(conn, Buffer.alloc(0), '127.0.0.1');
  assert.equal(first.err, 0);
  assert.equal(first.token!.toString(), 'realm="zk-sasl-md5",nonce="N0nce",charset=utf-8,algorithm=md5-sess');
  const p: DigestParams = {
    ...RFC,
    username: 'bob',
    password: 'pw',
    realm: 'zk-sasl-md5',
    nonce,
    cnonce: 'c',
    digestUri: 'zookeeper/zk-sasl-md5',
  };
  const resp = `username="bob",realm="zk-sasl-md5",nonce="${nonce}",cnonce="c",nc=00000001,qop=auth,digest-uri="zookeeper/zk-sasl-md5",response=${responseValue(p, 'AUTHENTICATE')}`;
  const done = auth.step(conn, Buffer.from(resp), '127.0.0.1');
  assert.deepEqual(done.ids, [
    { scheme: 'sasl', id: 'bob' },
    { scheme: 'super', id: '' },
  ]);
  assert.equal(done.token!.toString(), `rspauth=${responseValue(p, '')}`);
  const other = {};
  auth.step(other, Buffer.alloc(0), '127.0.0.1');
  assert.deepEqual(auth.step(other, Buffer.from(resp.replace('response=', 'response=0')), '127.0.0.1'), {
    err: Err.AUTHFAILED,
    token: null,
    close: true,
    ids: [],
  });
  const lenient = new SaslAuthenticator({ ...opts, allowFailedClients: true }, () => nonce);
  const kept = {};
  lenient.step(kept, Buffer.alloc(0), '127.0.0.1');
  assert.deepEqual(lenient.step(kept, Buffer.from('garbage'), '127.0.0.1'), { err: 0, token: null, close: false, ids: [] });
  // sessionRequireClientSASLAuth: the failure ends the session with SESSIONCLOSEDREQUIRESASLAUTH.
  const strict = new SaslAuthenticator({ ...opts, allowFailedClients: true, enforceAuthSchemes: ['sasl'] }, () => nonce);
  const refused = {};
  strict.step(refused, Buffer.alloc(0), '127.0.0.1');
  assert.equal(strict.step(refused, Buffer.from('garbage'), '127.0.0.1').err, Err.SESSIONCLOSEDREQUIRESASLAUTH);
  assert.equal(strict.refusal([{ scheme: 'ip', id: '127.0.0.1' }]), Err.SESSIONCLOSEDREQUIRESASLAUTH);
  assert.equal(strict.refusal([{ scheme: 'sasl', id: 'bob' }]), 0);
  assert.equal(auth.refusal([]), 0);
  // No JAAS Server section: OK with no token, as ZooKeeper without a SaslServer.
  assert.deepEqual(new SaslAuthenticator(undefined).step({}, Buffer.from('x'), ''), { err: 0, token: null, close: false, ids: [] });
});

test('sasl ACLs: valid only with the provider; match the user or the SASL user "super"', () => {
  const acl = [{ perms: 31, id: { scheme: 'sasl', id: 'bob' } }];
  assert.equal(fixupAcl(acl, []), Err.INVALIDACL);
  assert.deepEqual(fixupAcl(acl, [], { sasl: true }), acl);
  assert.equal(fixupAcl([{ perms: 1, id: { scheme: 'sasl', id: 'a@b@c' } }], [], { sasl: true }), Err.INVALIDACL);
  assert.deepEqual(fixupAcl([{ perms: 1, id: { scheme: 'auth', id: '' } }], [{ scheme: 'sasl', id: 'bob' }], { sasl: true }), [
    { perms: 1, id: { scheme: 'sasl', id: 'bob' } },
  ]);
  assert.equal(fixupAcl([{ perms: 1, id: { scheme: 'auth', id: '' } }], [{ scheme: 'sasl', id: 'bob' }]), Err.INVALIDACL);
  assert.equal(checkAcl(acl, 1, [{ scheme: 'sasl', id: 'bob' }], false), true);
  assert.equal(checkAcl(acl, 1, [{ scheme: 'sasl', id: 'super' }], false), true);
  assert.equal(checkAcl(acl, 1, [{ scheme: 'sasl', id: 'eve' }], false), false);
  assert.equal(checkAcl(acl, 1, [{ scheme: 'digest', id: 'bob' }], false), false);
  for (const ok of ['bob', 'a/b/c', 'zk/host@REALM', 'u@R', '@']) assert.equal(validSaslAclId(ok), true, ok);
  for (const bad of ['a@b@c', 'a/b/c@R', 'a@b/c']) assert.equal(validSaslAclId(bad), false, bad);
});

test('config: enforce.auth needs schemes with providers; sessionRequireClientSASLAuth means sasl', () => {
  const base = 'dataDir=/tmp/x\nclientPort=2181\n';
  const withSasl = `${base}authProvider.1=org.apache.zookeeper.server.auth.SASLAuthenticationProvider\n`;
  assert.deepEqual(parseZooCfg(withSasl, '/tmp', { 'zookeeper.sessionRequireClientSASLAuth': 'true' }).options.sasl!.enforceAuthSchemes, [
    'sasl',
  ]);
  assert.deepEqual(
    parseZooCfg(base, '/tmp', { 'zookeeper.enforce.auth.enabled': 'true', 'zookeeper.enforce.auth.schemes': 'digest, ip' }).options.sasl!
      .enforceAuthSchemes,
    ['digest', 'ip'],
  );
  assert.throws(() => parseZooCfg(base, '/tmp', { 'zookeeper.enforce.auth.enabled': 'true' }), /enforce\.auth\.schemes is not set/);
  assert.throws(
    () => parseZooCfg(base, '/tmp', { 'zookeeper.enforce.auth.enabled': 'true', 'zookeeper.enforce.auth.schemes': 'sasl' }),
    /scheme "sasl" is not available \(set authProvider\.1=/,
  );
  assert.deepEqual(parseZooCfg(base, '/tmp', { 'zookeeper.enforce.auth.enabled': 'false' }).options.sasl!.enforceAuthSchemes, []);
  assert.throws(
    () => parseZooCfg(base, '/tmp', { 'zookeeper.sessionRequireClientSASLAuth': 'true' }),
    /sessionRequireClientSASLAuth: authentication scheme "sasl"/,
  );
});
